import { shQuote } from "./prelude";

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
 * Shell lines defining `remote <command> [args]`: OpenSSH with strict checking against the pinned host
 * key only, key authentication only, never prompting. Expects the private key in $work/id.
 */
export function remoteFunction(target: SshTarget): string {
  const options = [
    `-i "$work/id" -p ${target.port}`,
    `-o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes`,
    `-o UserKnownHostsFile="$work/known_hosts" -o GlobalKnownHostsFile=/dev/null`,
    `-o ConnectTimeout=20 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 -o LogLevel=ERROR`,
  ].join(" ");
  return [
    `printf '%s\\n' ${shQuote(knownHostsLine(target))} > "$work/known_hosts"`,
    `remote() { ssh ${options} ${shQuote(`${target.user}@${target.address}`)} "$@"; }`,
  ].join("\n");
}
