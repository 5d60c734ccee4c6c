/**
 * What a simulated host boots from: its init (simhostInit.sh, a small systemd stand-in), the `systemctl`
 * shim, and the files in its state directory (host key, authorized_keys, sshd_config, resolv.conf, and
 * the disk: the directories that survive a reboot).
 */
import { chmod, chown, copyFile, mkdir, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { claimOwnership } from "./exec";

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
   * Files on the host's disk before its first boot (cloud-init's write_files). Only paths under
   * PERSISTENT_DIRS and /etc/resolv.conf exist per host; the rest of the file system is the machine's, so
   * other paths are left out. Default: none.
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

/** Directories of a simulated host that live on its disk (the state dir) and survive a reboot. */
export const PERSISTENT_DIRS = [
  "/var/tmp",
  "/var/lib/docker",
  "/var/lib/containerd",
  "/var/lib/caddy",
  "/var/lib/cloud",
  "/etc/docker",
  "/etc/caddy",
  "/etc/hcloud-deploy",
  "/etc/systemd/system",
];

/** Where writeHostFiles puts the init script (simhostInit.sh) in a host's state directory. */
export const INIT_SCRIPT_NAME = "init.sh";

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
  await writeFile(path.join(stateDir, "persistent"), PERSISTENT_DIRS.join("\n") + "\n");
  await writeFile(path.join(stateDir, "docker-disk-mib"), String(spec.dockerDataMiB ?? ""));
  await writeFile(
    path.join(stateDir, "insecure-registries"),
    (spec.insecureRegistries ?? []).map((r) => `${r}\n`).join(""),
  );
  await copyFile(path.join(__dirname, "simhostInit.sh"), path.join(stateDir, INIT_SCRIPT_NAME));
  await copyFile(path.join(__dirname, "simhostSystemctl.sh"), path.join(stateDir, "systemctl"));
  const resolvConf = (spec.resolvers ?? []).map((r) => `nameserver ${r}\n`).join("");
  await writeFile(path.join(stateDir, "resolv.conf"), resolvConf, { mode: 0o644 });
  for (const dir of PERSISTENT_DIRS) await makeDiskDir(stateDir, dir);
  for (const file of spec.files ?? []) await seedFile(stateDir, file);
  for (const unit of spec.enabledUnits ?? []) {
    const wants = path.join(stateDir, "disk/etc/systemd/system/multi-user.target.wants");
    await mkdir(wants, { recursive: true });
    await symlink(`/lib/systemd/system/${unit}.service`, path.join(wants, `${unit}.service`));
  }
}

/** A directory of the host's disk, owned and moded as the packages left it on the machine. */
async function makeDiskDir(stateDir: string, dir: string): Promise<void> {
  const disk = path.join(stateDir, "disk", dir);
  await mkdir(disk, { recursive: true });
  const original = await stat(dir).catch(() => undefined);
  if (original === undefined) return;
  await chown(disk, original.uid, original.gid);
  await chmod(disk, original.mode & 0o7777);
}

/** The path of `file` on the host's disk, or undefined when it lives on the machine's shared tree. */
export function diskPathOf(stateDir: string, file: string): string | undefined {
  if (file === "/etc/resolv.conf") return path.join(stateDir, "resolv.conf");
  const dir = PERSISTENT_DIRS.find((d) => file.startsWith(`${d}/`));
  return dir === undefined ? undefined : path.join(stateDir, "disk", file);
}

async function seedFile(stateDir: string, file: HostFile): Promise<void> {
  const target = diskPathOf(stateDir, file.path);
  if (target === undefined) return;
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, file.content, { mode: parseInt(file.permissions, 8) });
}

function withTrailingNewline(text: string): string {
  return text.endsWith("\n") ? text : `${text}\n`;
}
