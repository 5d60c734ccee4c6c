/**
 * What a simulated host boots from: the init script that runs its sshd and dockerd, and the files in its
 * state directory (host key, authorized_keys, sshd_config, daemon.json).
 */
import { chmod, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { dockerdConfig } from "./dockerd";
import { claimOwnership } from "./exec";

/** What a host boots with. */
export interface HostBootFiles {
  /** Lines for root's authorized_keys. */
  authorizedKeys: string[];
  /** OpenSSH-format ed25519 host key: the HostKey file content and its "ssh-ed25519 AAAA…" line. */
  hostKey: { privateKey: string; publicKey: string };
  /** Passed to the host's dockerd, e.g. a LocalRegistry's host. */
  insecureRegistries?: string[];
  /** Size of the disk Docker keeps images on, in MiB (a tmpfs); default: no limit but the machine's. */
  dockerDataMiB?: number;
}

export // Runs under tini (PID 1) in the host's fresh namespaces; $1 is the host name, $2 its state dir, $3 the
// size of Docker's disk in MiB or empty.
// A host whose sshd or dockerd died is useless to tests, so the host ends with either: a failing
// start then fails at once instead of at the timeout.
const HOST_INIT_SCRIPT = `
set -eu
hostname "$1"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=0700 tmpfs /root
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp
# What the product and cloud-init keep on a VM, private per host (the mount points stay empty outside).
for dir in /etc/hcloud-deploy /var/lib/cloud; do
  mkdir -p "$dir"
  mount -t tmpfs -o mode=0755 tmpfs "$dir"
done
if [ -n "\${3:-}" ]; then
  mkdir -p "$2/docker"
  mount -t tmpfs -o "size=$3m,mode=0710" tmpfs "$2/docker"
fi
mkdir -m 0755 /run/sshd
mkdir -m 0700 /root/.ssh
install -m 0600 "$2/authorized_keys" /root/.ssh/authorized_keys
declare -A daemons
dockerd --config-file "$2/daemon.json" >"$2/dockerd.log" 2>&1 &
daemons[$!]=dockerd
/usr/sbin/sshd -D -e -f "$2/sshd_config" >"$2/sshd.log" 2>&1 &
daemons[$!]=sshd
status=0
wait -n -p ended || status=$?
echo "\${daemons[$ended]} exited with status $status; stopping the host" >&2
exit 1
`;

/** Writes the host's boot files into its state directory, which it claims for this process. */
export async function writeHostFiles(spec: HostBootFiles, stateDir: string): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await chmod(stateDir, 0o700);
  await claimOwnership(stateDir);
  const hostKeyFile = path.join(stateDir, "ssh_host_ed25519_key");
  await writeFile(hostKeyFile, withTrailingNewline(spec.hostKey.privateKey), { mode: 0o600 });
  await writeFile(
    path.join(stateDir, "authorized_keys"),
    withTrailingNewline(spec.authorizedKeys.join("\n")),
  );
  await writeFile(
    path.join(stateDir, "sshd_config"),
    [
      `HostKey ${hostKeyFile}`,
      "PidFile /run/sshd.pid",
      "PermitRootLogin prohibit-password",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      // PAM's session modules expect a booted system (logind, loginuid) that the namespaces lack.
      "UsePAM no",
      "UseDNS no",
      "PrintMotd no",
      "Subsystem sftp /usr/lib/openssh/sftp-server",
      "",
    ].join("\n"),
  );
  const config = dockerdConfig({
    dataRoot: path.join(stateDir, "docker"),
    // Inside the host's private /run, like on a VM; /run/docker.sock is what a plain `docker`
    // in an ssh session uses, the socket in the state dir is for the harness outside.
    execRoot: "/run/docker",
    pidfile: "/run/docker.pid",
    sockets: ["/run/docker.sock", path.join(stateDir, "docker.sock")],
    insecureRegistries: spec.insecureRegistries,
  });
  await writeFile(path.join(stateDir, "daemon.json"), JSON.stringify(config, null, 2));
}

function withTrailingNewline(text: string): string {
  return text.endsWith("\n") ? text : `${text}\n`;
}
