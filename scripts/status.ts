/** Command-line wrapper of ops/statusCommand.ts (usage there): `npm run status -- --stack S [--repair]`. */
import { status } from "../ops/statusCommand";

status(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`status: ${err.message}\n`);
    process.exit(2);
  },
);
