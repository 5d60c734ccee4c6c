/** Command-line wrapper of bench/delivery.ts (usage there): `npm run bench:delivery -- [--mib N] [--rate R]`. */
import { benchDelivery } from "../bench/delivery";

benchDelivery(process.argv.slice(2)).catch((err: Error) => {
  console.error(`bench-delivery: ${err.message}`);
  process.exit(1);
});
