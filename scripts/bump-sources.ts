/** Command-line wrapper of ops/bumpSources.ts (usage there): moves build.git pins to their branch's head. */
import * as path from "path";
import { runBumpSources } from "../ops/bumpSources";

try {
  const out = runBumpSources(
    process.argv.slice(2),
    path.resolve(__dirname, ".."),
    process.env.SOURCE_TOKEN || undefined,
  );
  if (out !== "") process.stdout.write(`${out}\n`);
} catch (err) {
  process.stderr.write(`bump-sources: ${(err as Error).message}\n`);
  process.exit(1);
}
