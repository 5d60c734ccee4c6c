/** Command-line wrapper of ops/exec.ts (usage there): `npm run exec -- --stack S --app A [--new] -- CMD…`. */
import { execCommand } from "../ops/exec";

execCommand(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`exec: ${err.message}\n`);
    process.exit(2);
  },
);
