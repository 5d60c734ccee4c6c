import { APP_SETTINGS_LINES, likeTheAppOptions } from "./oneOff";
import { FAIL_FUNCTION, sayFunction, shQuote } from "./prelude";
import { EXISTS_FUNCTION } from "./service";

export interface ExecArgs {
  readonly app: string;
  readonly hostName: string;
  /** Program and arguments, run as written (no shell in between unless the command names one). */
  readonly command: readonly string[];
  /** A fresh one-off container of the app's image instead of the running one. Default: false. */
  readonly fresh?: boolean;
  /** Give the command a terminal (the deployer's stdin is one). Default: false. */
  readonly tty?: boolean;
}

/**
 * Host side (sh) of `npm run exec`: the command in the app's running container (`docker exec`), or with
 * `fresh` in a one-off container made like it (see APP_SETTINGS_LINES), removed when the command ends.
 * Stdin passes through; the command's exit status is the script's. Problems of ours fail in one
 * `hcloud-deploy:` line before the command starts.
 */
export function execScript(args: ExecArgs): string {
  if (args.command.length === 0) throw new Error("exec needs a command to run");
  const interactive = args.tty ? "-it" : "-i";
  const [program, ...rest] = args.command;
  const words = rest.map(shQuote).join(" ");
  const head = `set -eu
app=${shQuote(args.app)}
${sayFunction('"$app"', shQuote(args.hostName))}
${FAIL_FUNCTION}
${EXISTS_FUNCTION}
exists "$app" || fail "no container of this app on the host (not deployed here yet? see npm run status)"
`;
  if (!args.fresh) {
    return `${head}[ "$(docker inspect --format '{{.State.Running}}' "$app")" = true ] ||
  fail "the app's container is not running (npm run status says why; --new runs the command in a fresh one)"
exec docker exec ${interactive} "$app" ${shQuote(program)} ${words}
`;
  }
  return `${head}${APP_SETTINGS_LINES}exec docker run --rm ${interactive} --name "$app-exec-$$" \\
  ${likeTheAppOptions("exec", args.app)} \\
  --entrypoint ${shQuote(program)} "$image" ${words}
`;
}
