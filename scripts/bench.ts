/** Command-line wrapper of bench/main.ts (usage there): `npm run bench [-- --quick] [--rate 100mbit]`. */
import { bench } from "../bench/main";

bench(process.argv.slice(2)).then(
  // The last line: one JSON object with the summary, for scripts and CI logs.
  (results) => process.stdout.write(`${JSON.stringify(results.summary)}\n`),
  (err: Error) => {
    console.error(`bench: ${err.message}`);
    process.exit(1);
  },
);
