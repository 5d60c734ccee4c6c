/** Command-line wrapper of ops/logs.ts (usage there): `npm run logs -- --stack S --app A [--follow] …`. */
import { logs } from "../ops/logs";

logs(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`logs: ${err.message}\n`);
    process.exit(2);
  },
);
