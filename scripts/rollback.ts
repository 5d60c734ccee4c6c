/** Command-line wrapper of ops/rollback.ts (usage there): `npm run rollback -- --stack S (--list | --to N)`. */
import { rollback } from "../ops/rollback";

rollback(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`rollback: ${err.message}\n`);
  process.exit(1);
});
