// What a host's state directory holds before its first boot, on a stand-in release root with the two
// things the disk must respect: a symbolic link (/lib → usr/lib, as on trixie) and a directory that is
// not root's (/var/lib/caddy). Needs root (chown).
import {
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { etcHosts, hostStateLayout, writeHostFiles } from "../../../local/simhostFiles";

const CADDY_UID = 990;
let work: string;
let lower: string;
let state: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), "hcd-simhost-files-"));
  lower = path.join(work, "lower");
  state = path.join(work, "state");
  await mkdir(path.join(lower, "usr/lib/systemd/system"), { recursive: true });
  await symlink("usr/lib", path.join(lower, "lib"));
  await mkdir(path.join(lower, "var/lib/caddy"), { recursive: true, mode: 0o700 });
  await chown(path.join(lower, "var/lib/caddy"), CADDY_UID, CADDY_UID);
  await writeHostFiles(
    {
      name: "web-1",
      authorizedKeys: ["ssh-ed25519 AAAA deployer"],
      hostKey: {
        privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----",
        publicKey: "",
      },
      resolvers: ["2001:db8::53"],
      files: [
        { path: "/var/lib/caddy/seeded", content: "a", permissions: "0600" },
        { path: "/lib/systemd/system/extra.service", content: "[Unit]\n", permissions: "0644" },
        { path: "/etc/docker/daemon.json", content: "{}\n", permissions: "0644" },
      ],
      enabledUnits: ["caddy"],
    },
    state,
    lower,
  );
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const onDisk = (file: string) => path.join(hostStateLayout(state).disk, file);

test("the state directory: the disk, the overlay's work and mount directories, the harness's files", async () => {
  expect((await readdir(state)).sort()).toEqual([
    "disk",
    "disk.work",
    "harness",
    "owner.pid",
    "root",
    "root.sh",
  ]);
  expect((await readdir(hostStateLayout(state).harness)).sort()).toEqual([
    "authorized_keys",
    "docker-disk-mib",
    "init.sh",
    "insecure-registries",
    "ssh_host_ed25519_key",
    "sshd_config",
    "systemctl",
  ]);
  const sshd = await readFile(path.join(hostStateLayout(state).harness, "sshd_config"), "utf8");
  expect(sshd.split("\n")[0]).toBe("HostKey /run/harness/ssh_host_ed25519_key");
});

test("hostname, hosts and resolv.conf are the host's own, on its disk", async () => {
  expect(await readFile(onDisk("/etc/hostname"), "utf8")).toBe("web-1\n");
  expect(await readFile(onDisk("/etc/hosts"), "utf8")).toBe(etcHosts("web-1"));
  expect(etcHosts("web-1")).toBe(
    "127.0.1.1 web-1\n127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n" +
      "fd5e:ffff::1 registry.hcd.test # hcloud-deploy-harness\n",
  );
  expect(await readFile(onDisk("/etc/resolv.conf"), "utf8")).toBe("nameserver 2001:db8::53\n");
});

test("a file's new directories take the release's owner and mode; its own mode is the one asked for", async () => {
  const dir = await stat(onDisk("/var/lib/caddy"));
  expect([dir.uid, dir.gid, dir.mode & 0o7777]).toEqual([CADDY_UID, CADDY_UID, 0o700]);
  expect((await stat(onDisk("/var/lib/caddy/seeded"))).mode & 0o7777).toBe(0o600);
  expect((await stat(onDisk("/etc/docker"))).mode & 0o7777).toBe(0o755);
});

test("a path through the release's symbolic link lands behind it, leaving the link to the release", async () => {
  expect(await readFile(onDisk("/usr/lib/systemd/system/extra.service"), "utf8")).toBe("[Unit]\n");
  await expect(lstat(onDisk("/lib"))).rejects.toThrow("ENOENT");
});

test("an enabled unit is a wants link, as systemctl enable makes it", async () => {
  const link = onDisk("/etc/systemd/system/multi-user.target.wants/caddy.service");
  expect(await readlink(link)).toBe("/lib/systemd/system/caddy.service");
});
