import { parsePublicKey } from "../sshKeys";
import { PATHS, shQuote } from "./prelude";

export interface SshTarget {
  /** Bare IPv6 (or IPv4) address of the host. */
  readonly address: string;
  /** SSH port; 22 unless a test says otherwise. */
  readonly port: number;
  readonly user: string;
  /** The pinned host key line ("ssh-ed25519 AAAA…"). */
  readonly hostKey: string;
}

/** The known_hosts line pinning the host key; OpenSSH writes non-default ports as [addr]:port. */
export function knownHostsLine(target: SshTarget): string {
  const name = target.port === 22 ? target.address : `[${target.address}]:${target.port}`;
  return `${name} ${target.hostKey.split(" ").slice(0, 2).join(" ")}`;
}

/**
 * The remote command line that runs `script` under sh on the host; words after it in a `remote` call
 * become $1, $2… of the script (pass only values that need no quoting, such as hex digests).
 */
export function onHost(script: string): string {
  return shQuote(`sh -c ${shQuote(script)} hcloud-deploy`);
}

/** Seconds a dial may take: a host that does not answer fails within two of them (dial, then key scan). */
export const CONNECT_TIMEOUT_SECONDS = 5;

/**
 * Bash lines that open the deployer's side of every SSH conversation with one host. They need `fail`
 * (see the prelude) and leave `$work`, a private directory, for the caller.
 *
 * Stdin must start with the OpenSSH private key (up to its END line); the rest of stdin is left for the
 * caller. The key goes into a private ssh-agent and never touches a disk. On every exit — success,
 * failure, SIGINT/SIGTERM/SIGHUP, or the death of the process that started the script (pulumi killed) —
 * the caller's `cleanup_hook` (when defined) runs, then every child process, the agent and `$work` go.
 *
 * Defines `remote <command> [args]` (OpenSSH, strict checking against the pinned key only, key
 * authentication only, never prompting) and `check_host`, which dials once and fails with one line
 * naming the cause: a host key that is not the pinned one (both fingerprints), or an unreachable host.
 */
export function deployerSsh(target: SshTarget): string {
  const expected = parsePublicKey(target.hostKey).fingerprint;
  const where = target.port === 22 ? `[${target.address}]` : `[${target.address}]:${target.port}`;
  const options = [
    `-p ${target.port} -o IdentityAgent="$work/agent.sock" -o IdentitiesOnly=yes -o IdentityFile="$work/id.pub"`,
    `-o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$work/known_hosts"`,
    `-o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=${CONNECT_TIMEOUT_SECONDS}`,
    `-o ServerAliveInterval=15 -o ServerAliveCountMax=4 -o LogLevel=ERROR`,
  ].join(" ");
  return `# Our own process group, so that everything this script starts can be stopped together, even when
# the command provider SIGKILLs the script itself (it does on cancellation).
read -r _ _ _ _ pgid _ < /proc/$$/stat
[ "$pgid" = $$ ] || exec setsid bash -c "$BASH_EXECUTION_STRING" "$0" "$@"
umask 077
work=$(mktemp -d "\${TMPDIR:-/tmp}/${PATHS.deployerWork}.XXXXXX")
agent_pid=""
on_exit() {
  status=$?
  trap - EXIT INT HUP
  trap '' TERM
  if declare -F cleanup_hook >/dev/null; then cleanup_hook || true; fi
  # Every process of the group but this shell, which ignores TERM from here on.
  kill -TERM -- -$$ 2>/dev/null || true
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; fi
  rm -rf "$work"
  exit $status
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# The private key: stdin up to its END line, into an agent of our own (never a file).
key=""
while IFS= read -r line; do
  key+="$line"$'\\n'
  [ "$line" = "-----END OPENSSH PRIVATE KEY-----" ] && break
done
eval "$(ssh-agent -s -a "$work/agent.sock")" >/dev/null
agent_pid=$SSH_AGENT_PID
printf '%s' "$key" | SSH_AUTH_SOCK="$work/agent.sock" ssh-add -q - 2>/dev/null ||
  fail "the deployer's SSH key (hcloud-deploy:sshPrivateKey) is not an unencrypted OpenSSH private key"
key=""
SSH_AUTH_SOCK="$work/agent.sock" ssh-add -L > "$work/id.pub"
unset SSH_AUTH_SOCK SSH_AGENT_PID

# When pulumi dies, or kills this shell, no trap runs: a watchdog follows both and takes the agent and
# the whole process group down with them.
parent=$PPID
( while kill -0 "$parent" 2>/dev/null && kill -0 $$ 2>/dev/null; do sleep 1; done
  if ! kill -0 $$ 2>/dev/null; then kill "$agent_pid" 2>/dev/null; rm -rf "$work"; fi
  kill -TERM -- -$$ 2>/dev/null ) &

printf '%s\\n' ${shQuote(knownHostsLine(target))} > "$work/known_hosts"
remote() { ssh ${options} ${shQuote(`${target.user}@${target.address}`)} "$@"; }

check_host() {
  local err presented
  err=$(remote true 2>&1) && return 0
  presented=$(ssh-keyscan -T ${CONNECT_TIMEOUT_SECONDS} -t ed25519 -p ${target.port} ${shQuote(target.address)} 2>/dev/null |
    ssh-keygen -lf - 2>/dev/null | awk '{ print $2; exit }') || true
  if [ -n "$presented" ] && [ "$presented" != ${shQuote(expected)} ]; then
    fail "host key mismatch at ${where}: expected ${expected}, presented $presented (a replaced server, or someone in between); nothing was sent"
  elif [ -z "$presented" ]; then
    fail "unreachable at ${where}: $(printf '%s' "$err" | tr -d '\\r' | tail -n 1)"
  fi
  fail "ssh to ${where} failed: $(printf '%s' "$err" | tr -d '\\r' | tail -n 1)"
}
`;
}
