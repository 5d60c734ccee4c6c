/** Command-line wrapper of ops/ciApps.ts (usage there): the build matrix and image pins CI uses. */
import * as path from "path";
import { runCiApps } from "../ops/ciApps";

try {
  const out = runCiApps(process.argv.slice(2), path.resolve(__dirname, ".."));
  if (out !== "") process.stdout.write(`${out}\n`);
} catch (err) {
  process.stderr.write(`ci-apps: ${(err as Error).message}\n`);
  process.exit(1);
}
