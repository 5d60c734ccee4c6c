/**
 * The root file systems simulated hosts boot: one per Debian release, made once with debootstrap from
 * Debian's mirror (hostRootfsBuild.sh) with what Hetzner's image and the product's cloud-init install, and
 * cached under ~/.cache/hcloud-deploy/host-rootfs (HCLOUD_DEPLOY_CACHE moves it) in a directory named after
 * the release and a hash of the package set and the build script: a changed package set or recipe builds
 * a new one. Hosts mount it read-only as the lower layer of their root (simhostRoot.sh).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { appendFile, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { HOST_PACKAGES } from "../components/cloudInit";

export const HOST_RELEASES = ["bookworm", "trixie"] as const;
/** A Debian release a simulated host can boot. */
export type HostRelease = (typeof HOST_RELEASES)[number];
/** Debian 13: Hetzner's newest Debian image. */
export const DEFAULT_HOST_RELEASE: HostRelease = "trixie";

/** Hetzner's Debian images (the emulator's catalog) and the release each one boots. */
export const IMAGE_RELEASES: Readonly<Record<string, HostRelease>> = {
  "debian-12": "bookworm",
  "debian-13": "trixie",
};

/**
 * What Hetzner's Debian image has that the product's host scripts and relays use (e2fsprogs: its root is
 * ext4, and the volume mount calls chattr and resize2fs; trixie's minimal base lacks it; systemd: the
 * jobs' timers are computed by its systemd-analyze, which bookworm's packages here do not pull in).
 */
const IMAGE_PACKAGES = [
  "openssh-server",
  "openssh-client",
  "iproute2",
  "procps",
  "hostname",
  "e2fsprogs",
  "systemd",
];
/** What the harness's init runs: tini as each host's PID 1, and Docker's runtime and firewall named outright. */
const HARNESS_PACKAGES = ["tini", "containerd", "iptables"];

/**
 * Packages only one release has. Debian 13 moved the docker CLI out of docker.io into docker-cli, which
 * docker.io recommends and cloud-init's install (with recommends) brings along.
 */
const RELEASE_PACKAGES: Readonly<Record<HostRelease, readonly string[]>> = {
  bookworm: [],
  trixie: ["docker-cli"],
};

/** Every package on a host's root file system of `release` besides minbase, sorted; cloud-init's too. */
export function hostRootfsPackages(release: HostRelease): string[] {
  return [
    ...new Set([...IMAGE_PACKAGES, ...HOST_PACKAGES, ...HARNESS_PACKAGES, ...RELEASE_PACKAGES[release]]),
  ].sort();
}

/** The mirror apt uses on this machine (/etc/apt/sources.list.d/debian.sources), and its security one. */
export const DEBIAN_MIRROR = "http://deb.debian.org/debian";
export const DEBIAN_SECURITY_MIRROR = "http://deb.debian.org/debian-security";

export const HOST_ROOTFS_CACHE = path.join(
  process.env.HCLOUD_DEPLOY_CACHE ?? path.join(homedir(), ".cache", "hcloud-deploy"),
  "host-rootfs",
);
const BUILD_SCRIPT = path.join(__dirname, "hostRootfsBuild.sh");

/** A built root file system. */
export interface HostRootfs {
  readonly release: HostRelease;
  /** The directory hosts mount as their lower layer. */
  readonly root: string;
  /** Debian's version of each package of hostRootfsPackages, and `debian`: /etc/debian_version. */
  readonly versions: Readonly<Record<string, string>>;
}

/** The release `image` boots; one line naming the images it knows otherwise. */
export function releaseOfImage(image: string): HostRelease {
  const release = IMAGE_RELEASES[image];
  if (release === undefined) {
    throw new Error(
      `simulated hosts boot ${Object.keys(IMAGE_RELEASES).join(" or ")}, not ${JSON.stringify(image)}`,
    );
  }
  return release;
}

/** `value` as a release (e.g. HCD_HOST_RELEASE); undefined stays undefined, anything else throws one line. */
export function parseHostRelease(value: string | undefined, what: string): HostRelease | undefined {
  if (value === undefined || value === "") return undefined;
  if (!(HOST_RELEASES as readonly string[]).includes(value)) {
    throw new Error(`${what} must be ${HOST_RELEASES.join(" or ")}, not ${JSON.stringify(value)}`);
  }
  return value as HostRelease;
}

/** The cache key of a build: 12 hex digits of the release, the package set and the recipe. */
export function hostRootfsKey(release: HostRelease, packages: readonly string[], recipe: string): string {
  const hash = createHash("sha256");
  hash.update(`${release}\n${[...packages].sort().join(" ")}\n${recipe}`);
  return hash.digest("hex").slice(0, 12);
}

/** `<package> <version>` lines, as the build writes them, as a record. */
export function parseVersions(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split("\n")
      .filter((line) => line.includes(" "))
      .map((line) => [line.slice(0, line.indexOf(" ")), line.slice(line.indexOf(" ") + 1)]),
  );
}

/** The upstream part of a Debian version: no epoch, revision or repack suffix (1:2.6.2+dfsg-5 → 2.6.2). */
export function upstreamVersion(debianVersion: string): string {
  return debianVersion
    .replace(/^\d+:/, "")
    .replace(/-[^-]*$/, "")
    .replace(/[+~](dfsg|ds).*$/, "");
}

/** The line a suite prints for a release its hosts ran on. */
export function hostsLine(rootfs: Pick<HostRootfs, "release" | "versions">): string {
  const version = (pkg: string) => upstreamVersion(rootfs.versions[pkg] ?? "(not installed)");
  return `hosts: ${rootfs.release} root filesystem, docker ${version("docker.io")}, caddy ${version("caddy")}`;
}

const building = new Map<string, Promise<HostRootfs>>();

/**
 * The root file system of `release`, built first if the cache lacks it (a minute or two, with a line per
 * step on `log`). Concurrent calls share one build; other processes wait on its lock.
 */
export function ensureHostRootfs(
  release: HostRelease,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<HostRootfs> {
  const key = hostRootfsKey(release, hostRootfsPackages(release), readFileSync(BUILD_SCRIPT, "utf8"));
  const dir = path.join(HOST_ROOTFS_CACHE, `${release}-${key}`);
  let result = building.get(dir);
  if (result === undefined) {
    result = (async () => {
      if (!existsSync(path.join(dir, "versions")))
        await buildRootfs({ release, dir, packages: hostRootfsPackages(release) }, log);
      const versions = parseVersions(await readFile(path.join(dir, "versions"), "utf8"));
      return { release, root: path.join(dir, "root"), versions };
    })();
    // A failed build is tried again by the next caller.
    result.catch(() => building.delete(dir));
    building.set(dir, result);
  }
  return result;
}

/** What buildRootfs makes: the release with these packages in `dir`, checked for `commands`. */
export interface RootfsBuild {
  readonly release: HostRelease;
  readonly dir: string;
  readonly packages: readonly string[];
  /** Commands the result must have on PATH; default: what the hosts' init and host scripts run. */
  readonly commands?: readonly string[];
  /** The start of each progress line; default `host rootfs`. */
  readonly label?: string;
}

/**
 * Runs the build script in private mount and PID namespaces (hosts' root filesystems, and the Debian
 * images the local stack builds offline), passing its progress lines on.
 */
export function buildRootfs(spec: RootfsBuild, log: (line: string) => void): Promise<void> {
  const { release, dir } = spec;
  // A package cache per release: two releases build at once without sharing apt's lock.
  const args = [DEBIAN_MIRROR, DEBIAN_SECURITY_MIRROR, path.join(HOST_ROOTFS_CACHE, `debs-${release}`)];
  const child = spawn(
    "unshare",
    [
      ...["--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--"],
      ...["bash", BUILD_SCRIPT, release, dir, ...args, ...spec.packages],
    ],
    {
      stdio: ["ignore", "ignore", "pipe"],
      env: {
        ...process.env,
        ...(spec.commands ? { ROOTFS_COMMANDS: spec.commands.join(" ") } : {}),
        ...(spec.label ? { ROOTFS_LABEL: spec.label } : {}),
      },
    },
  );
  let pending = "";
  let last = "";
  child.stderr.on("data", (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      last = line;
      log(line);
    }
  });
  return new Promise((resolve, reject) => {
    child.on("error", (err) =>
      reject(new Error(`Cannot build the ${release} root filesystem: ${err.message}`)),
    );
    child.on("close", (code) => {
      if (pending !== "") log(pending);
      if (code === 0) resolve();
      else reject(new Error(`Building the ${release} root filesystem failed (${code}): ${pending || last}`));
    });
  });
}

/** Where startSimHost notes the release of every host it boots, when set (a suite's setup sets it). */
export const HOSTS_RECORD_ENV = "HCD_HOSTS_RECORD";

/** Notes that a host booted `release`, for the suite's closing `hosts:` line. */
export async function recordHostRelease(release: HostRelease): Promise<void> {
  const record = process.env[HOSTS_RECORD_ENV];
  if (record !== undefined && record !== "") await appendFile(record, `${release}\n`);
}
