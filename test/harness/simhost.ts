/**
 * Simulated IPv6-only Hetzner VMs. Each host is a network namespace joined to the root namespace
 * by a veth pair, plus private mount, UTS and PID namespaces that hold its own sshd and dockerd
 * and its own /run, /tmp, /var/tmp, /root, /etc/hcloud-deploy and /var/lib/cloud (tmpfs). Real `ssh` and `docker` work against it unchanged.
 *
 * Addressing plan, all inside the ULA prefix fd5e::/16 that belongs to this harness:
 * - Host addresses are the caller's (the Hetzner API emulator hands out fd5e:0:0:N::1 from /64s);
 *   the host's prefix is routed to its veth. fd5e:ffff::/32 is reserved for harness services.
 * - fd5e:ffff::1 (HARNESS_SERVICE_ADDRESS) sits on the root namespace's loopback: the registry
 *   listens there, and every host reaches it (and anything else listening on [::] in the root
 *   namespace) through its default route. It is each host's `gateway`. /etc/hosts, which the root
 *   namespace and all hosts share, names it HARNESS_REGISTRY_HOSTNAME, because Docker 20.10 rejects
 *   image references with an IPv6 literal ("[fd5e:ffff::1]:5000/app": invalid reference format).
 * - fe80::1 is the root side of every veth; each host's default route points at it.
 * - The root namespace gets `unreachable fd5e::/16`, so a packet for a host that is not running
 *   fails locally instead of leaving through the machine's uplink. IPv6 forwarding stays off in
 *   the root namespace: hosts talk to the root namespace, not to each other.
 * Hosts have no IPv4 except loopback and their own docker0 bridge.
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect, isIPv6 } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { HARNESS_STATE_ROOT, dockerEngineAnswers, dockerdConfig } from "./dockerd";
import {
  CommandError,
  Daemon,
  childPids,
  claimOwnership,
  killQuietly,
  liveOwnerOf,
  once,
  readTail,
  run,
  startDaemon,
  waitUntil,
} from "./exec";

export const HARNESS_PREFIX = "fd5e::/16";
export const HARNESS_SERVICE_ADDRESS = "fd5e:ffff::1";
export const HARNESS_REGISTRY_HOSTNAME = "registry.hcd.test";

export interface SimHostSpec {
  /** [a-z0-9-]{1,10}; the netns and the root-side veth are named "hcd-<name>". */
  name: string;
  /** The host's IPv6 address inside fd5e::/16 (not fd5e:ffff::/32); also what ssh/curl dial. */
  address: string;
  /** 64..128; default 64. The whole prefix is routed to this host. */
  prefixLength?: number;
  /** Lines for root's authorized_keys. */
  authorizedKeys: string[];
  /** OpenSSH-format ed25519 host key: the HostKey file content and its "ssh-ed25519 AAAA…" line. */
  hostKey: { privateKey: string; publicKey: string };
  /** Passed to the host's dockerd, e.g. a LocalRegistry's host. */
  insecureRegistries?: string[];
  /** Default HARNESS_STATE_ROOT/hosts/<name>. Not under /tmp, /run or /root (the host mounts over those). */
  stateDir?: string;
}

export interface SimHost {
  readonly name: string;
  readonly address: string;
  /** Root-namespace IPv6 address the host reaches through its default route (HARNESS_SERVICE_ADDRESS). */
  readonly gateway: string;
  /** Runs a bash script inside the host's namespaces (net, mount, uts, pid) in /root, as if on the VM. */
  exec(
    script: string,
    opts?: { input?: string | Buffer },
  ): Promise<{ stdout: string; stderr: string; code: number }>;
  /** Idempotent; removes the netns, veth, daemons, mounts and the state dir. */
  stop(): Promise<void>;
}

const HOST_START_TIMEOUT_MS = 60_000;
const LEFTOVER_KILL_TIMEOUT_MS = 10_000;
const LOG_TAIL_CHARS = 3000;
const PATHS_THE_HOST_MOUNTS_OVER = ["/tmp", "/run", "/var/run", "/root"];
// What an ssh session on the VM would have; the test process's DOCKER_HOST etc. must not leak in.
const VM_ENV = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  HOME: "/root",
  USER: "root",
  LANG: "C.UTF-8",
};

// Runs under tini (PID 1) in the host's fresh namespaces; $1 is the host name, $2 its state dir.
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

const liveHosts = new Set<SimHost>();
const namesInUse = new Set<string>();

export async function startSimHost(spec: SimHostSpec): Promise<SimHost> {
  const prefixLength = spec.prefixLength ?? 64;
  const stateDir = spec.stateDir ?? path.join(HARNESS_STATE_ROOT, "hosts", spec.name);
  validateSpec(spec, prefixLength, stateDir);
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
  let init: Daemon | undefined;
  const teardown = once(async () => {
    await init?.stop();
    // Deleting the root-side veth also deletes its peer and the route to the host's prefix.
    await run("ip", ["link", "del", netns], { check: false });
    await run("ip", ["netns", "del", netns], { check: false });
    await rm(stateDir, { recursive: true, force: true });
    if (networkAcquired) await releaseHarnessNetwork();
    namesInUse.delete(spec.name);
  });

  let initPid: number;
  try {
    await removeLeftovers(netns, stateDir);
    await acquireHarnessNetwork();
    networkAcquired = true;
    await writeHostFiles(spec, stateDir);
    await plumbNetwork(netns, spec.address, prefixLength);
    const namespaces = ["--mount", "--propagation", "private", "--uts", "--pid", "--fork", "--kill-child"];
    const initCommand = ["tini", "--", "/bin/bash", "-c", HOST_INIT_SCRIPT, "init", spec.name, stateDir];
    const joinNetns = ["nsenter", `--net=/run/netns/${netns}`, "--"];
    init = startDaemon(
      [...joinNetns, "unshare", ...namespaces, "--mount-proc", "--", ...initCommand],
      path.join(stateDir, "init.log"),
    );
    await waitForHost(spec, stateDir, init);
    // init.pid is unshare, outside the new PID namespace; its only child (tini) is inside all of them.
    [initPid] = await childPids(init.pid);
    if (initPid === undefined) throw new Error(`Simulated host ${spec.name}: its init process is gone`);
  } catch (err) {
    await teardown();
    throw err;
  }

  const nsenter = ["--target", String(initPid), "--net", "--mount", "--uts", "--pid", "--wd=/root"];
  let stopped = false;
  const host: SimHost = {
    name: spec.name,
    address: spec.address,
    gateway: HARNESS_SERVICE_ADDRESS,
    exec: async (script, opts = {}) => {
      if (stopped) throw new Error(`Simulated host ${spec.name} is stopped`);
      return run("nsenter", [...nsenter, "--", "/bin/bash", "-c", script], {
        input: opts.input,
        env: VM_ENV,
        check: false,
      });
    },
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
  const mountedOver = PATHS_THE_HOST_MOUNTS_OVER.find((p) => stateDir === p || stateDir.startsWith(`${p}/`));
  if (!path.isAbsolute(stateDir) || mountedOver !== undefined) {
    problems.push(`stateDir must be an absolute path outside ${PATHS_THE_HOST_MOUNTS_OVER.join(", ")}`);
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

async function writeHostFiles(spec: SimHostSpec, stateDir: string): Promise<void> {
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

async function plumbNetwork(netns: string, address: string, prefixLength: number): Promise<void> {
  const inHost = (...args: string[]) => run("ip", ["-n", netns, ...args]);
  await run("ip", ["netns", "add", netns]);
  // Without duplicate address detection the addresses are usable at once instead of after ~2 s.
  await run("nsenter", [
    `--net=/run/netns/${netns}`,
    ...["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"],
  ]);
  await run("ip", ["link", "add", netns, "type", "veth", "peer", "name", "eth0", "netns", netns]);
  await run("ip", ["-6", "addr", "add", "fe80::1/64", "dev", netns, "nodad"]);
  await run("ip", ["link", "set", netns, "up"]);
  await inHost("link", "set", "lo", "up");
  await inHost("link", "set", "eth0", "up");
  await inHost("-6", "addr", "add", `${address}/${prefixLength}`, "dev", "eth0", "nodad");
  await inHost("-6", "route", "add", "default", "via", "fe80::1", "dev", "eth0");
  try {
    await run("ip", ["-6", "route", "add", `${address}/${prefixLength}`, "dev", netns]);
  } catch (err) {
    const detail = err instanceof CommandError ? err.result.stderr.trim() : String(err);
    throw new Error(
      `Cannot route ${address}/${prefixLength} to ${netns} (does another host use it?): ${detail}`,
    );
  }
}

async function waitForHost(spec: SimHostSpec, stateDir: string, init: Daemon): Promise<void> {
  const logs = async () =>
    (
      await Promise.all(
        ["init.log", "dockerd.log", "sshd.log"].map(
          async (log) => `--- ${log}:\n${await readTail(path.join(stateDir, log), LOG_TAIL_CHARS)}`,
        ),
      )
    ).join("\n");
  const dockerSocket = path.join(stateDir, "docker.sock");
  let sshReady = false;
  let dockerReady = false;
  await waitUntil(
    async () => {
      const exit = init.exitReason();
      if (exit !== undefined) throw new Error(`Simulated host ${spec.name}: init ${exit}\n${await logs()}`);
      sshReady ||= await acceptsTcp(spec.address, 22);
      dockerReady ||= await dockerEngineAnswers(dockerSocket);
      return sshReady && dockerReady;
    },
    HOST_START_TIMEOUT_MS,
    async () =>
      `Simulated host ${spec.name} not ready within ${HOST_START_TIMEOUT_MS} ms ` +
      `(sshd on [${spec.address}]:22 ${sshReady ? "up" : "down"}, dockerd ${dockerReady ? "up" : "down"})\n` +
      (await logs()),
  );
}

function acceptsTcp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => finish(true));
    socket.once("timeout", () => finish(false));
    socket.once("error", () => finish(false));
  });
}

// The service address, its /etc/hosts line and the unreachable route are shared by all hosts and
// registries, also those of other test processes on this machine. Each process registers while it
// uses them and the last live one removes them; flock serialises that between processes, and a
// promise chain within this one.
const NETWORK_USERS_DIR = path.join(HARNESS_STATE_ROOT, "network-users");
const NETWORK_LOCK = path.join(HARNESS_STATE_ROOT, "network.lock");
const ETC_HOSTS_LINE = `${HARNESS_SERVICE_ADDRESS} ${HARNESS_REGISTRY_HOSTNAME} # hcloud-deploy-harness`;

const SET_UP_NETWORK = `
set -eu
mkdir -p "$USERS"
touch "$USERS/$OWNER"
ip -6 addr replace "$ADDRESS/128" dev lo nodad
ip -6 route replace unreachable "$PREFIX"
grep -qxF "$HOSTS_LINE" /etc/hosts || echo "$HOSTS_LINE" >>/etc/hosts
`;

// /etc/hosts is rewritten in place (not replaced) because it may be a bind mount.
const TEAR_DOWN_NETWORK = `
set -eu
rm -f "$USERS/$OWNER"
for user in "$USERS"/*; do
  [ -e "$user" ] || continue
  if kill -0 "\${user##*/}" 2>/dev/null; then exit 0; fi
  rm -f "$user"
done
ip -6 route del unreachable "$PREFIX" 2>/dev/null || true
ip -6 addr del "$ADDRESS/128" dev lo 2>/dev/null || true
kept=$(grep -vxF "$HOSTS_LINE" /etc/hosts || true)
printf '%s\\n' "$kept" >/etc/hosts
`;

let networkUsers = 0;
let networkChanges: Promise<unknown> = Promise.resolve();

export function acquireHarnessNetwork(): Promise<void> {
  return serialiseNetworkChange(async () => {
    if (networkUsers === 0) await runNetworkScript(SET_UP_NETWORK);
    networkUsers++;
  });
}

export function releaseHarnessNetwork(): Promise<void> {
  return serialiseNetworkChange(async () => {
    networkUsers--;
    if (networkUsers === 0) await runNetworkScript(TEAR_DOWN_NETWORK);
  });
}

function serialiseNetworkChange(change: () => Promise<void>): Promise<void> {
  const result = networkChanges.then(change);
  networkChanges = result.catch(() => undefined);
  return result;
}

async function runNetworkScript(script: string): Promise<void> {
  await mkdir(HARNESS_STATE_ROOT, { recursive: true });
  await run("flock", ["--wait", "30", NETWORK_LOCK, "sh", "-c", script], {
    env: {
      PATH: VM_ENV.PATH,
      USERS: NETWORK_USERS_DIR,
      OWNER: String(process.pid),
      ADDRESS: HARNESS_SERVICE_ADDRESS,
      PREFIX: HARNESS_PREFIX,
      HOSTS_LINE: ETC_HOSTS_LINE,
    },
  });
}
