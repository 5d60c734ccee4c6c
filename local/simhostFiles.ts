/**
 * What a simulated host boots from, in its state directory: the first stage of its boot (simhostRoot.sh),
 * its init (simhostInit.sh, a small systemd stand-in), the `systemctl` shim and its sshd's files, and its
 * disk (the upper layer of its root) with what cloud-init would have written there.
 */
import { existsSync } from "node:fs";
import { chmod, chown, copyFile, lstat, mkdir, readlink, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { claimOwnership } from "./exec";
import { HARNESS_HOSTS_ENTRY } from "./hostNetwork";

/** A file as cloud-init's write_files puts it on a VM. */
export interface HostFile {
  readonly path: string;
  readonly content: string;
  /** Octal, e.g. "0644". */
  readonly permissions: string;
}

/** What a host boots with. */
export interface HostBootFiles {
  /** Lines for root's authorized_keys. */
  authorizedKeys: string[];
  /** OpenSSH-format ed25519 host key: the HostKey file content and its "ssh-ed25519 AAAA…" line. */
  hostKey: { privateKey: string; publicKey: string };
  /** Passed to the host's dockerd, e.g. a LocalRegistry's host. */
  insecureRegistries?: string[];
  /** The host's resolvers (/etc/resolv.conf); default none. A `files` entry for /etc/resolv.conf wins. */
  resolvers?: string[];
  /**
   * Files on the host's disk before its first boot (cloud-init's write_files), at any path; those under
   * /run, /tmp or /root are hidden by the tmpfs mounted there at boot. Default: none.
   */
  files?: HostFile[];
  /** Units enabled at boot besides containerd, docker and ssh (e.g. caddy, when cloud-init installs it). */
  enabledUnits?: string[];
  /**
   * Size of the disk Docker keeps images on, in MiB (a tmpfs, so it does not survive a reboot); default:
   * the host's disk, limited only by the machine's.
   */
  dockerDataMiB?: number;
}

/** Where writeHostFiles puts the init script (simhostInit.sh) in a host's harness directory. */
export const INIT_SCRIPT_NAME = "init.sh";
/** Where writeHostFiles puts the first stage of the boot (simhostRoot.sh) in a host's state directory. */
export const ROOT_SCRIPT_NAME = "root.sh";

/**
 * A host's state directory on the machine: `disk` is the upper layer of its root (everything the host
 * writes, its disk), `diskWork` the overlay's work directory, `root` where its root is mounted (in the
 * host's mount namespace only), `harness` what the host sees as /run/harness.
 */
export function hostStateLayout(stateDir: string): {
  disk: string;
  diskWork: string;
  root: string;
  harness: string;
} {
  return {
    disk: path.join(stateDir, "disk"),
    diskWork: path.join(stateDir, "disk.work"),
    root: path.join(stateDir, "root"),
    harness: path.join(stateDir, "harness"),
  };
}

/** Where the host sees its harness directory. */
const HARNESS_IN_HOST = "/run/harness";

/**
 * Writes the host's boot files into its state directory, which it claims for this process: the harness's
 * files, and on its disk its hostname, /etc/hosts, resolv.conf, `files` and enabled units. `lower` is the
 * root file system of its release, whose directories' owners and modes the disk's new ones copy.
 */
export async function writeHostFiles(
  spec: HostBootFiles & { name: string },
  stateDir: string,
  lower: string,
): Promise<void> {
  const layout = hostStateLayout(stateDir);
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await chmod(stateDir, 0o700);
  await claimOwnership(stateDir);
  for (const dir of [layout.disk, layout.diskWork, layout.root]) await mkdir(dir, { recursive: true });
  await mkdir(layout.harness, { mode: 0o700, recursive: true });
  const harness = (name: string) => path.join(layout.harness, name);
  await writeFile(harness("ssh_host_ed25519_key"), withTrailingNewline(spec.hostKey.privateKey), {
    mode: 0o600,
  });
  await writeFile(harness("authorized_keys"), withTrailingNewline(spec.authorizedKeys.join("\n")));
  await writeFile(harness("sshd_config"), sshdConfig(`${HARNESS_IN_HOST}/ssh_host_ed25519_key`));
  await writeFile(harness("docker-disk-mib"), String(spec.dockerDataMiB ?? ""));
  await writeFile(
    harness("insecure-registries"),
    (spec.insecureRegistries ?? []).map((r) => `${r}\n`).join(""),
  );
  await copyFile(path.join(__dirname, "simhostInit.sh"), harness(INIT_SCRIPT_NAME));
  await copyFile(path.join(__dirname, "simhostSystemctl.sh"), harness("systemctl"));
  await copyFile(path.join(__dirname, "simhostRoot.sh"), path.join(stateDir, ROOT_SCRIPT_NAME));

  const disk = new HostDisk(layout.disk, lower);
  await disk.write({ path: "/etc/hostname", content: `${spec.name}\n`, permissions: "0644" });
  await disk.write({ path: "/etc/hosts", content: etcHosts(spec.name), permissions: "0644" });
  const resolvConf = (spec.resolvers ?? []).map((r) => `nameserver ${r}\n`).join("");
  await disk.write({ path: "/etc/resolv.conf", content: resolvConf, permissions: "0644" });
  for (const file of spec.files ?? []) await disk.write(file);
  for (const unit of spec.enabledUnits ?? []) {
    await disk.link(
      `/etc/systemd/system/multi-user.target.wants/${unit}.service`,
      `/lib/systemd/system/${unit}.service`,
    );
  }
}

/** The host's sshd settings (it runs with this file, not the release's sshd_config). */
function sshdConfig(hostKeyFile: string): string {
  return [
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
  ].join("\n");
}

/** /etc/hosts as cloud-init writes it for a Debian VM, plus the harness's name for its registry. */
export function etcHosts(hostName: string): string {
  return [
    `127.0.1.1 ${hostName}`,
    "127.0.0.1 localhost",
    "::1 localhost ip6-localhost ip6-loopback",
    HARNESS_HOSTS_ENTRY,
    "",
  ].join("\n");
}

/**
 * The host's disk before its first boot, the upper layer of its root: a file written here is what the host
 * finds at that path. A directory made on the way takes the owner and mode the release's root file system
 * gives it, because the upper layer's directory is the one the host sees.
 */
class HostDisk {
  constructor(
    private readonly disk: string,
    private readonly lower: string,
  ) {}

  async write(file: HostFile): Promise<void> {
    const target = await this.prepare(file.path);
    await writeFile(target, file.content, { mode: parseInt(file.permissions, 8) });
    // writeFile's mode is masked by the umask and ignored for a file that exists.
    await chmod(target, parseInt(file.permissions, 8));
  }

  async link(file: string, target: string): Promise<void> {
    await symlink(target, await this.prepare(file));
  }

  /** Makes the parents of `file` on the disk; returns its path there. */
  private async prepare(file: string): Promise<string> {
    if (!path.isAbsolute(file)) throw new Error(`a host file's path must be absolute: ${file}`);
    const resolved = await this.throughLinks(path.dirname(path.normalize(file)));
    const parents = resolved.split("/").filter(Boolean);
    for (let i = 1; i <= parents.length; i++) {
      const dir = `/${parents.slice(0, i).join("/")}`;
      const onDisk = path.join(this.disk, dir);
      if (existsSync(onDisk)) continue;
      await mkdir(onDisk);
      const original = await stat(path.join(this.lower, dir)).catch(() => undefined);
      if (original === undefined) continue;
      await chown(onDisk, original.uid, original.gid);
      await chmod(onDisk, original.mode & 0o7777);
    }
    return path.join(this.disk, resolved, path.basename(file));
  }

  /**
   * `dir` with the release's symbolic links on its way followed (/lib is usr/lib on trixie): a directory
   * made on the disk where the release has a link would hide the link.
   */
  private async throughLinks(dir: string): Promise<string> {
    let parts = dir.split("/").filter(Boolean);
    for (let i = 0, hops = 0; i < parts.length; i++) {
      const here = `/${parts.slice(0, i + 1).join("/")}`;
      const info = await lstat(path.join(this.lower, here)).catch(() => undefined);
      if (!info?.isSymbolicLink()) continue;
      if (++hops > 40) throw new Error(`too many symbolic links on the way to ${dir}`);
      const target = await readlink(path.join(this.lower, here));
      const base = target.startsWith("/") ? "/" : path.dirname(here);
      parts = [...path.join(base, target).split("/").filter(Boolean), ...parts.slice(i + 1)];
      i = -1;
    }
    return `/${parts.join("/")}`;
  }
}

function withTrailingNewline(text: string): string {
  return text.endsWith("\n") ? text : `${text}\n`;
}
