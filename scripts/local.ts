/** Command-line wrapper of local/commands.ts: `npm run local:up [-- --roll-forward]` and `npm run local:down`. */
import { down, say, up } from "../local/commands";

const commands: Record<string, (argv: string[]) => Promise<void>> = { up, down: () => down() };
const command = commands[process.argv[2] ?? ""];
if (!command) {
  say("usage: local.ts up [--roll-forward] | down");
  process.exit(2);
}
command(process.argv.slice(3)).catch((err: Error) => {
  say(err.message);
  process.exit(1);
});
