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

/**
 * The shellcheck directive a deployer script puts before a command that carries onHost words: their
 * escaped quotes and `$` are the host's sh's business, and the unit suite checks each host script itself.
 */
export const HOST_SCRIPT_WORDS =
  "# shellcheck disable=SC1003,SC2016 # host scripts in onHost words expand on the host, checked on their own";

/** Seconds a dial may take: a host that does not answer fails within two of them (dial, then key scan). */
export const CONNECT_TIMEOUT_SECONDS = 5;

/**
 * Bash lines that open the deployer's side of every SSH conversation. They need `fail` (see the prelude)
 * and leave `$work`, a private directory, for the caller.
 *
 * Stdin (or descriptor `keyFd`, which is closed after) must start with the OpenSSH private key (up to
 * its END line); the rest is left for the caller. The key goes into a private ssh-agent and never touches a disk. On every exit — success,
 * failure, SIGINT/SIGTERM/SIGHUP, or the death of the process that started the script (pulumi killed) —
 * the caller's `cleanup_hook` (when defined) runs, then every child process (master connections
 * included), the agent and `$work` go.
 */
export function deployerSession(keyFd = 0): string {
  return `# Our own process group, so that everything this script starts can be stopped together, even when
# the command provider SIGKILLs the script itself (it does on cancellation).
read -r _ _ _ _ pgid _ < /proc/$$/stat
[ "$pgid" = $$ ] || exec setsid bash -c "$BASH_EXECUTION_STRING" "$0" "$@"
umask 077
work=$(mktemp -d "\${TMPDIR:-/tmp}/${PATHS.deployerWork}.XXXXXX")
agent_pid=""
# shellcheck disable=SC2317 # only the EXIT trap calls it
on_exit() {
  status=$?
  trap - EXIT INT HUP
  trap '' TERM
  if declare -F cleanup_hook >/dev/null; then cleanup_hook || true; fi
  # Every process of the group but this shell, which ignores TERM from here on.
  kill -TERM -- -$$ 2>/dev/null || true
  if [ -n "$agent_pid" ]; then kill "$agent_pid" 2>/dev/null || true; fi
  rm -rf "$work"
  exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# The private key: ${keyFd === 0 ? "stdin" : `file descriptor ${keyFd}`} up to its END line, into an agent of our own (never a file).
key=""
while IFS= read -r line; do
  key+="$line"$'\\n'
  [ "$line" = "-----END OPENSSH PRIVATE KEY-----" ] && break
done${
    keyFd === 0
      ? ""
      : ` <&${keyFd}
exec ${keyFd}<&-`
  }
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
`;
}

/**
 * Bash lines (after deployerSession) that pin the hosts' keys and define, for host number i (0-based,
 * in the order given):
 * - `connect i`: opens one authenticated master connection that later `rsh i` calls share (one
 *   handshake per host and delivery); on failure prints one line naming the cause — a host key that is
 *   not the pinned one (both fingerprints), or an unreachable host — and returns 1, within 10 s;
 * - `rsh i <command> [args]`: OpenSSH to host i, strict checking against the pinned key only, key
 *   authentication only, never prompting.
 */
export function sshHosts(targets: readonly SshTarget[]): string {
  const words = (f: (t: SshTarget) => string | number) => targets.map((t) => shQuote(f(t))).join(" ");
  const options = [
    `-o IdentityAgent="$work/agent.sock" -o IdentitiesOnly=yes -o IdentityFile="$work/id.pub"`,
    `-o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$work/known_hosts"`,
    `-o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=${CONNECT_TIMEOUT_SECONDS}`,
    `-o ServerAliveInterval=15 -o ServerAliveCountMax=4 -o LogLevel=ERROR`,
  ].join(" ");
  return `host_addr=(${words((t) => t.address)})
host_port=(${words((t) => t.port)})
host_user=(${words((t) => t.user)})
host_fpr=(${words((t) => parsePublicKey(t.hostKey).fingerprint)})
printf '%s\\n' ${targets.map((t) => shQuote(knownHostsLine(t))).join(" ")} > "$work/known_hosts"
# More options for every rsh (-t: a terminal for the remote command).
rsh_options=()
rsh() {
  local i=$1; shift
  ssh ${options} "\${rsh_options[@]}" -o ControlPath="$work/cm.$i" -p "\${host_port[i]}" "\${host_user[i]}@\${host_addr[i]}" "$@"
}
host_where() {
  if [ "\${host_port[$1]}" = 22 ]; then printf '[%s]' "\${host_addr[$1]}"; else printf '[%s]:%s' "\${host_addr[$1]}" "\${host_port[$1]}"; fi
}
connect() {
  local i=$1 state err presented where
  rm -f "$work/up.$i"
  mkfifo "$work/up.$i"
  # The master says "up" through the FIFO once it is authenticated, or "down" when it ends first.
  { ssh ${options} -o ControlPath="$work/cm.$i" -o ControlMaster=yes -o ControlPersist=no \\
      -o PermitLocalCommand=yes -o LocalCommand="echo up > $work/up.$i" -N -p "\${host_port[i]}" \\
      "\${host_user[i]}@\${host_addr[i]}" < /dev/null > /dev/null 2> "$work/dial.$i"
    echo down > "$work/up.$i"; } &
  read -r state < "$work/up.$i" || state=down
  [ "$state" = up ] && return 0
  err=$(tr -d '\\r' < "$work/dial.$i" | grep -v '^$' | tail -n 1)
  where=$(host_where "$i")
  case $err in
    *"connect to host"*) echo "unreachable at $where: $err"; return 1 ;;
  esac
  presented=$(ssh-keyscan -T ${CONNECT_TIMEOUT_SECONDS} -t ed25519 -p "\${host_port[i]}" "\${host_addr[i]}" 2>/dev/null |
    ssh-keygen -lf - 2>/dev/null | awk '{ print $2; exit }') || true
  if [ -n "$presented" ] && [ "$presented" != "\${host_fpr[i]}" ]; then
    echo "host key mismatch at $where: expected \${host_fpr[i]}, presented $presented (a replaced server, or someone in between); nothing was sent"
  elif [ -z "$presented" ]; then
    echo "unreachable at $where: $err"
  else
    echo "ssh to $where failed: $err"
  fi
  return 1
}
`;
}

/**
 * The prelude for scripts that talk to one host: deployerSession and sshHosts for that host, plus
 * `remote <command> [args]` and `check_host`, which connects (see `connect`) or fails with its one line.
 */
export function deployerSsh(target: SshTarget, keyFd = 0): string {
  return `${deployerSession(keyFd)}${sshHosts([target])}remote() { rsh 0 "$@"; }
check_host() { connect 0 > "$work/problem" || fail "$(cat "$work/problem")"; }
`;
}
