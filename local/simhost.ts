/**
 * Simulated IPv6-only Hetzner VMs. Each host is a network namespace joined to the harness bridge in
 * the root namespace by a veth pair, plus private mount, UTS and PID namespaces that hold its own root:
 * the Debian release its image names (hostRootfs.ts: debian-12 bookworm, debian-13 trixie, with that
 * release's sshd, Docker and Caddy), under its own disk, which survives a reboot() (simhostRoot.sh), and
 * its own /run, /tmp and /root (tmpfs), and its own /dev/disk, where attachDisk links the machine's block
 * devices as a VM sees its Hetzner Volumes (simhostDisks.ts). Its units (containerd, dockerd, sshd, and
 * caddy once enabled) run in that root, supervised like systemd would (simhostInit.sh, with a `systemctl`
 * shim). Real `ssh`, `docker` and `systemctl` work against it unchanged.
 *
 * Addressing plan, all inside the ULA prefix fd5e::/16 that belongs to this harness:
 * - Host addresses are the caller's (the Hetzner API emulator hands out fd5e:0:0:N::1 from /64s).
 *   fd5e:ffff::/32 is reserved for harness services.
 * - fd5e:ffff::1 (HARNESS_SERVICE_ADDRESS) sits on the root namespace's loopback: the registry
 *   listens there, and every host reaches it (and anything else listening on [::] in the root
 *   namespace) through its default route. It is each host's `gateway`. /etc/hosts, the root
 *   namespace's and each host's, names it HARNESS_REGISTRY_HOSTNAME, because Docker 20.10 rejects
 *   image references with an IPv6 literal ("[fd5e:ffff::1]:5000/app": invalid reference format).
 * - All hosts are on one link, the bridge hcd-br0 (HARNESS_BRIDGE), like servers on the internet:
 *   they reach each other directly (the relays of a delivery), and fd5e::/16 is on-link for them.
 *   fe80::1 is the root namespace's address on the bridge; each host's default route points at it.
 * - The root namespace has `fd5e::/16 dev hcd-br0`, so a packet for a host that is not running fails
 *   locally instead of leaving through the machine's uplink. IPv6 forwarding stays off in the root
 *   namespace. Shaping the bridge itself (its egress) shapes everything the root namespace sends to
 *   any host, i.e. the deployer's uplink; shaping `hcd-<name>` shapes everything that reaches one host.
 * Hosts have no IPv4 except loopback and their own Docker bridges.
 *
 * An arm64 host (`architecture`) boots the same amd64 root file system, sshd, dockerd and caddy included
 * (its `uname -m` says x86_64); only its containers are arm64, run through binfmt_misc (arm64Emulation.ts).
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { isIPv6 } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { requireArm64Emulation } from "./arm64Emulation";
import { HARNESS_STATE_ROOT } from "./dockerd";
import {
  acquireHarnessNetwork,
  HARNESS_PREFIX,
  HARNESS_SERVICE_ADDRESS,
  releaseHarnessNetwork,
} from "./hostNetwork";
import {
  DEFAULT_HOST_RELEASE,
  ensureHostRootfs,
  HOST_RELEASES,
  HostRelease,
  recordHostRelease,
} from "./hostRootfs";
import { boot, Booted, unplumb } from "./simhostBoot";
import { linkDiskScript, unlinkDiskScript, updateDisksRecord, validateDisk } from "./simhostDisks";
import { HostBootFiles, hostStateLayout, writeHostFiles } from "./simhostFiles";
import { killQuietly, liveOwnerOf, once, run, waitUntil } from "./exec";

/** The CPU architecture a host's containers run on (Docker's names). */
export type HostArchitecture = "amd64" | "arm64";

export interface SimHostSpec extends HostBootFiles {
  /** [a-z0-9-]{1,10}; the netns and the root-side veth are named "hcd-<name>". */
  name: string;
  /** The host's IPv6 address inside fd5e::/16 (not fd5e:ffff::/32); also what ssh/curl dial. */
  address: string;
  /** 64..128; default 64. The prefix is on-link for the host. */
  prefixLength?: number;
  /** Default HARNESS_STATE_ROOT/hosts/<name>; an absolute path. */
  stateDir?: string;
  /** The Debian release the host boots (its image: debian-12 bookworm, debian-13 trixie); default trixie. */
  release?: HostRelease;
  /**
   * What the host's containers run on; default amd64. arm64 images run under qemu-aarch64 through
   * binfmt_misc, which must be registered with the F flag (scripts/setup-machine.sh).
   */
  architecture?: HostArchitecture;
}

export interface SimHost {
  readonly name: string;
  /** Its network namespace ("hcd-<name>"), where private networks plug in. */
  readonly netns: string;
  readonly address: string;
  /** What its containers run on (SimHostSpec.architecture). */
  readonly architecture: HostArchitecture;
  /** The Debian release it boots (SimHostSpec.release). */
  readonly release: HostRelease;
  /** DOCKER_HOST for its dockerd from the machine (a socket in its state directory). */
  readonly dockerHost: string;
  /** Root-namespace IPv6 address the host reaches through its default route (HARNESS_SERVICE_ADDRESS). */
  readonly gateway: string;
  /** Runs a bash script inside the host's namespaces (net, mount, uts, pid) in /root, as if on the VM. */
  exec(
    script: string,
    opts?: { input?: string | Buffer },
  ): Promise<{ stdout: string; stderr: string; code: number }>;
  /**
   * A power cut and a boot: every process dies and the network namespace is made anew; what the host
   * wrote to its disk stays (but not /run, /tmp, /root). Resolves once sshd and dockerd answer again.
   */
  reboot(): Promise<void>;
  /**
   * Shows the machine's block device `device` to the host as /dev/disk/by-id/<name> (a Hetzner Volume's
   * link, simhostDisks.ts), for good: a reboot() links it again. Replaces a disk of that name.
   */
  attachDisk(name: string, device: string): Promise<void>;
  /** Unmounts what the host mounted from the disk (lazily if busy) and removes its link; no-op if absent. */
  detachDisk(name: string): Promise<void>;
  /** Idempotent; removes the netns, veth, daemons, mounts and the state dir. */
  stop(): Promise<void>;
}

const LEFTOVER_KILL_TIMEOUT_MS = 10_000;
// What an ssh session on the VM would have; the test process's DOCKER_HOST etc. must not leak in.
const VM_ENV = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  HOME: "/root",
  USER: "root",
  LANG: "C.UTF-8",
};

const liveHosts = new Set<SimHost>();
const namesInUse = new Set<string>();

export async function startSimHost(spec: SimHostSpec): Promise<SimHost> {
  const prefixLength = spec.prefixLength ?? 64;
  const stateDir = spec.stateDir ?? path.join(HARNESS_STATE_ROOT, "hosts", spec.name);
  const architecture = spec.architecture ?? "amd64";
  const release = spec.release ?? DEFAULT_HOST_RELEASE;
  validateSpec(spec, prefixLength, stateDir);
  if (architecture === "arm64") requireArm64Emulation();
  // Claimed before the first await, so that concurrent starts of one name cannot both proceed.
  if (namesInUse.has(spec.name)) throw new Error(`Simulated host ${spec.name} is already running`);
  namesInUse.add(spec.name);
  const owner = await liveOwnerOf(stateDir);
  if (owner !== undefined) {
    namesInUse.delete(spec.name);
    throw new Error(`Simulated host ${spec.name} belongs to live process ${owner} (state in ${stateDir})`);
  }
  const netns = `hcd-${spec.name}`;

  let networkAcquired = false;
  let booted: Booted | undefined;
  const teardown = once(async () => {
    await booted?.init.stop();
    await unplumb(netns);
    await rm(stateDir, { recursive: true, force: true });
    if (networkAcquired) await releaseHarnessNetwork();
    namesInUse.delete(spec.name);
  });

  let lower = "";
  try {
    // Built once per release and package set (minutes), then reused.
    lower = (await ensureHostRootfs(release)).root;
    await removeLeftovers(netns, stateDir);
    await acquireHarnessNetwork();
    networkAcquired = true;
    await writeHostFiles(spec, stateDir, lower);
    booted = await boot(spec, prefixLength, stateDir, lower);
    await recordHostRelease(release);
  } catch (err) {
    await teardown();
    throw err;
  }

  const nsenter = () => ["--target", String(booted?.initPid), "--net", "--mount", "--uts", "--pid"];
  let stopped = false;
  // Disk changes one at a time: each rewrites the record of all of them.
  let diskChanges = Promise.resolve();
  const changeDisks = (change: () => Promise<void>): Promise<void> => {
    const result = diskChanges.then(() => {
      if (stopped) throw new Error(`Simulated host ${spec.name} is stopped`);
      return change();
    });
    diskChanges = result.catch(() => undefined);
    return result;
  };
  const inHost = async (what: string, script: string) => {
    const result = await host.exec(script);
    if (result.code !== 0) {
      throw new Error(
        `Simulated host ${spec.name}: ${what} failed (${result.code}): ${result.stderr.trim()}`,
      );
    }
  };
  const { harness } = hostStateLayout(stateDir);
  const host: SimHost = {
    name: spec.name,
    netns,
    address: spec.address,
    architecture,
    release,
    dockerHost: simHostDockerHost(spec.name, stateDir),
    gateway: HARNESS_SERVICE_ADDRESS,
    exec: async (script, opts = {}) => {
      if (stopped) throw new Error(`Simulated host ${spec.name} is stopped`);
      // In /root of the host: nsenter's --wd would open the machine's /root, before it enters the host.
      return run("nsenter", [...nsenter(), "--", "/usr/bin/env", "-C", "/root", "/bin/bash", "-c", script], {
        input: opts.input,
        env: VM_ENV,
        check: false,
      });
    },
    reboot: async () => {
      if (stopped) throw new Error(`Simulated host ${spec.name} is stopped`);
      // A power cut: every process of the host dies at once, and the network stack goes with the netns.
      await booted?.init.stop();
      booted = undefined;
      await unplumb(netns);
      booted = await boot(spec, prefixLength, stateDir, lower);
    },
    // The record first: a boot in between links the disk from it.
    attachDisk: (name, device) =>
      changeDisks(async () => {
        validateDisk({ name, device });
        await updateDisksRecord(harness, (disks) => [
          ...disks.filter((d) => d.name !== name),
          { name, device },
        ]);
        await inHost(`linking disk ${name}`, linkDiskScript({ name, device }));
      }),
    detachDisk: (name) =>
      changeDisks(async () => {
        await inHost(`detaching disk ${name}`, unlinkDiskScript(name));
        await updateDisksRecord(harness, (disks) => disks.filter((d) => d.name !== name));
      }),
    stop: once(async () => {
      stopped = true;
      liveHosts.delete(host);
      await teardown();
    }),
  };
  liveHosts.add(host);
  return host;
}

export async function stopAllSimHosts(): Promise<void> {
  const results = await Promise.allSettled([...liveHosts].map((host) => host.stop()));
  const failures = results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
  if (failures.length > 0) throw new Error(`Stopping simulated hosts failed:\n${failures.join("\n")}`);
}

/** DOCKER_HOST for the dockerd of the host `name` (SimHost.dockerHost), from the machine. */
export function simHostDockerHost(
  name: string,
  stateDir = path.join(HARNESS_STATE_ROOT, "hosts", name),
): string {
  return `unix://${path.join(hostStateLayout(stateDir).harness, "docker.sock")}`;
}

/** An ed25519 key pair made by ssh-keygen, usable as a host key or as a client identity. */
export async function generateTestHostKey(): Promise<{ privateKey: string; publicKey: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), "hcd-key-"));
  try {
    const keyFile = path.join(dir, "key");
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", keyFile]);
    return {
      privateKey: await readFile(keyFile, "utf8"),
      publicKey: (await readFile(`${keyFile}.pub`, "utf8")).trim(),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function validateSpec(spec: SimHostSpec, prefixLength: number, stateDir: string): void {
  const problems: string[] = [];
  if (!/^[a-z0-9-]{1,10}$/.test(spec.name)) problems.push("name must match [a-z0-9-]{1,10}");
  const address = spec.address.toLowerCase();
  if (!isIPv6(address) || !address.startsWith("fd5e:") || address.startsWith("fd5e:ffff:")) {
    problems.push(`address must be an IPv6 address in ${HARNESS_PREFIX} outside fd5e:ffff::/32`);
  }
  if (!Number.isInteger(prefixLength) || prefixLength < 64 || prefixLength > 128) {
    problems.push("prefixLength must be an integer from 64 to 128");
  }
  if (!path.isAbsolute(stateDir)) problems.push("stateDir must be an absolute path");
  if (spec.architecture !== undefined && !["amd64", "arm64"].includes(spec.architecture)) {
    problems.push('architecture must be "amd64" or "arm64"');
  }
  if (spec.release !== undefined && !HOST_RELEASES.includes(spec.release)) {
    problems.push(`release must be ${HOST_RELEASES.map((r) => JSON.stringify(r)).join(" or ")}`);
  }
  if (problems.length > 0) {
    throw new Error(`Invalid simulated host spec ${JSON.stringify(spec.name)}: ${problems.join("; ")}`);
  }
}

/** A crashed run leaves the netns, veth and state dir; its processes may still sit in the netns. */
async function removeLeftovers(netns: string, stateDir: string): Promise<void> {
  if (existsSync(`/run/netns/${netns}`)) {
    const pidsInNetns = async () =>
      (await run("ip", ["netns", "pids", netns])).stdout.split(/\s+/).filter(Boolean);
    (await pidsInNetns()).forEach((pid) => killQuietly(Number(pid)));
    await waitUntil(
      async () => (await pidsInNetns()).length === 0,
      LEFTOVER_KILL_TIMEOUT_MS,
      async () => `Processes of a previous run in netns ${netns} survive SIGKILL: ${await pidsInNetns()}`,
    );
  }
  await run("ip", ["link", "del", netns], { check: false });
  await run("ip", ["netns", "del", netns], { check: false });
  await rm(stateDir, { recursive: true, force: true });
}
