import { FAIL_FUNCTION, sayFunction, shQuote } from "./prelude";
import { deployerSsh, HOST_SCRIPT_WORDS, onHost, SshTarget } from "./ssh";

/**
 * Host scripts run from the deployer as `command.local.Command`s over the shared SSH prelude (key in a
 * private agent from stdin, pinned host key, 5 s dials, one-line failures). The script travels in the
 * command's environment and the command line stays short: the command provider quotes the command line
 * in its errors ("running \"…\""), and a short one dumps no script.
 */

/** The environment variable holding the deployer script. */
export const SCRIPT_VARIABLE = "HCLOUD_DEPLOY_SCRIPT";

/** What a local.Command runs for `mode`: the script from its environment. */
export function scriptCommandLine(mode: "create" | "update" | "delete"): string {
  return `exec bash -c "$${SCRIPT_VARIABLE}" hcloud-deploy ${mode}`;
}

export interface OverSshArgs {
  /** What the script is about, for messages: an app name, or `proxy`. */
  readonly subject: string;
  readonly hostName: string;
  readonly target: SshTarget;
  /** The host script (sh) per mode; `update` defaults to `create`, `delete` may be absent. */
  readonly create: string;
  readonly update?: string;
  readonly delete?: string;
}

/**
 * The deployer's side (bash, $1 = mode). Stdin: the OpenSSH private key, then what the host script reads
 * on its stdin (an env file, say), which goes to the host over SSH and never onto the deployer's disk.
 * The host script's last line on failure is its own `hcloud-deploy: …` line; a connection that breaks
 * off says so in one line.
 */
export function overSshScript(args: OverSshArgs): string {
  const where = `[${args.target.address}]`;
  const onDelete = args.delete === undefined ? ":" : `remote ${onHost(args.delete)} || status=$?`;
  return `set -euo pipefail
${sayFunction(shQuote(args.subject), shQuote(args.hostName))}
${FAIL_FUNCTION}
mode=\${1:-create}
case $mode in
  create | update | delete) ;;
  *) fail "unknown mode $mode" ;;
esac
${deployerSsh(args.target)}
# The dial must not swallow what stdin still holds for the host script.
check_host </dev/null
status=0
${HOST_SCRIPT_WORDS}
case $mode in
  create) remote ${onHost(args.create)} || status=$? ;;
  update) remote ${onHost(args.update ?? args.create)} || status=$? ;;
  delete) ${onDelete} ;;
esac
if [ "$status" -eq 255 ]; then
  fail "the SSH connection to ${where} broke off before the host had finished"
fi
exit "$status"
`;
}
