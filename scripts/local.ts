/** Command-line wrapper of local/commands.ts: `npm run local:up` and `npm run local:down`. */
import { down, say, up } from "../local/commands";

const commands: Record<string, () => Promise<void>> = { up, down };
const command = commands[process.argv[2] ?? ""];
if (!command) {
  say("usage: local.ts up|down");
  process.exit(2);
}
command().catch((err: Error) => {
  say(err.message);
  process.exit(1);
});
