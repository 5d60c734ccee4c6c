/**
 * A simulated hcloud Load Balancer: a network namespace with the load balancer's public IPv6 (on the
 * harness bridge, like a simulated host) and an HAProxy (Debian's package) inside,
 * configured from the load balancer's services and targets (haproxyConfig.ts). Changes reload HAProxy
 * gracefully and keep the targets' health across the reload.
 */
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import path from "node:path";
import type { LoadBalancerHealth, LoadBalancerSpec, TargetHealth } from "./emulator/cloudBackend";
import { HARNESS_STATE_ROOT } from "./dockerd";
import {
  claimOwnership,
  Daemon,
  killQuietly,
  liveOwnerOf,
  once,
  readTail,
  run,
  startDaemon,
  waitUntil,
} from "./exec";
import { haproxyConfig, HaproxyPaths, serverStateFile } from "./haproxyConfig";
import { acquireHarnessNetwork, plumbNetwork, releaseHarnessNetwork } from "./hostNetwork";

export interface SimLoadBalancer {
  readonly netns: string;
  /** Brings HAProxy to this spec: started, reloaded, or stopped when there are no services. */
  apply(spec: LoadBalancerSpec): Promise<void>;
  health(): Promise<LoadBalancerHealth>;
  /** Idempotent: stops HAProxy, removes the namespace, its veth and the state dir. */
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 15_000;

/** One command on HAProxy's admin socket; the answer ends when HAProxy closes the connection. */
export function adminCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const client = connect(socket, () => client.end(`${command}\n`));
    client.setTimeout(5000, () =>
      client.destroy(new Error(`HAProxy admin socket ${socket}: no answer to "${command}"`)),
    );
    client.on("data", (chunk: Buffer) => chunks.push(chunk));
    client.on("error", reject);
    client.on("close", () => resolve(Buffer.concat(chunks).toString()));
  });
}

/** `show stat` CSV → listen port → server ID → health, for the backends named `svc<port>`. */
export function parseHealth(csv: string): LoadBalancerHealth {
  const [header, ...rows] = csv.trim().split("\n");
  const columns = header.replace(/^# /, "").split(",");
  const [px, sv, st] = ["pxname", "svname", "status"].map((c) => columns.indexOf(c));
  const health: LoadBalancerHealth = {};
  for (const row of rows) {
    const fields = row.split(",");
    const port = /^svc(\d+)$/.exec(fields[px])?.[1];
    const server = /^s(\d+)$/.exec(fields[sv])?.[1];
    if (!port || !server) continue;
    const status: TargetHealth = fields[st].startsWith("UP")
      ? "healthy"
      : fields[st].startsWith("DOWN")
        ? "unhealthy"
        : "unknown";
    (health[Number(port)] ??= {})[Number(server)] = status;
  }
  return health;
}

export async function startSimLoadBalancer(opts: { name: string; ipv6: string }): Promise<SimLoadBalancer> {
  if (!/^[a-z0-9-]{1,10}$/.test(opts.name))
    throw new Error(`Invalid load balancer name ${JSON.stringify(opts.name)}`);
  const netns = `hcd-${opts.name}`;
  const stateDir = path.join(HARNESS_STATE_ROOT, "lbs", opts.name);
  const owner = await liveOwnerOf(stateDir);
  if (owner !== undefined)
    throw new Error(`Load balancer ${opts.name} belongs to live process ${owner} (${stateDir})`);
  const paths: HaproxyPaths = {
    socket: path.join(stateDir, "admin.sock"),
    stateFile: path.join(stateDir, "server-state"),
    certificate: (id) => path.join(stateDir, `certificate-${id}.pem`),
  };
  const configFile = path.join(stateDir, "haproxy.cfg");
  const logFile = path.join(stateDir, "haproxy.log");
  let haproxy: Daemon | undefined;
  let config: string | undefined;
  let networkAcquired = false;

  const stop = once(async () => {
    await haproxy?.stop();
    await run("ip", ["link", "del", netns], { check: false });
    await run("ip", ["netns", "del", netns], { check: false });
    await rm(stateDir, { recursive: true, force: true });
    if (networkAcquired) await releaseHarnessNetwork();
  });
  try {
    if (existsSync(`/run/netns/${netns}`)) {
      const pids = (await run("ip", ["netns", "pids", netns])).stdout.split(/\s+/).filter(Boolean);
      pids.forEach((pid) => killQuietly(Number(pid)));
    }
    await run("ip", ["link", "del", netns], { check: false });
    await run("ip", ["netns", "del", netns], { check: false });
    await rm(stateDir, { recursive: true, force: true });
    await acquireHarnessNetwork();
    networkAcquired = true;
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    await claimOwnership(stateDir);
    await plumbNetwork(netns, opts.ipv6, 64);
  } catch (err) {
    await stop();
    throw err;
  }

  const failure = async (what: string) =>
    `Load balancer ${opts.name}: ${what}; HAProxy log:\n${await readTail(logFile)}`;
  const workerPid = async () =>
    /Pid: (\d+)/.exec(await adminCommand(paths.socket, "show info").catch(() => ""))?.[1];

  async function waitForWorker(previous: string | undefined): Promise<void> {
    await waitUntil(
      async () => {
        const exit = haproxy?.exitReason();
        if (exit !== undefined) throw new Error(await failure(`HAProxy ${exit}`));
        const pid = await workerPid();
        return pid !== undefined && pid !== previous;
      },
      START_TIMEOUT_MS,
      () => failure(`HAProxy did not answer on ${paths.socket} within ${START_TIMEOUT_MS} ms`),
    );
  }

  async function apply(spec: LoadBalancerSpec): Promise<void> {
    for (const [id, pem] of Object.entries(spec.certificates)) {
      await writeFile(paths.certificate(Number(id)), pem, { mode: 0o600 });
    }
    const next = haproxyConfig(spec, paths);
    if (next === config && haproxy?.exitReason() === undefined) return;
    if (next === undefined) {
      await haproxy?.stop();
      [haproxy, config] = [undefined, undefined];
      return;
    }
    const candidate = `${configFile}.next`;
    await writeFile(candidate, next);
    const check = await run("haproxy", ["-c", "-q", "-f", candidate], { check: false });
    if (check.code !== 0)
      throw new Error(
        `Load balancer ${opts.name}: HAProxy refuses its configuration: ${check.stderr.trim()}`,
      );
    const running = haproxy !== undefined && haproxy.exitReason() === undefined;
    const dump = running ? await adminCommand(paths.socket, "show servers state").catch(() => "") : "";
    await writeFile(paths.stateFile, serverStateFile(spec, dump));
    await writeFile(configFile, next);
    const previous = running ? await workerPid() : undefined;
    if (running) {
      // Master-worker mode: the master re-reads the file and hands the listeners to a new worker.
      process.kill((haproxy as Daemon).pid, "SIGUSR2");
    } else {
      const inNetns = ["nsenter", `--net=/run/netns/${netns}`, "--"];
      haproxy = startDaemon([...inNetns, "haproxy", "-W", "-db", "-f", configFile], logFile);
    }
    config = next;
    await waitForWorker(previous);
  }

  return {
    netns,
    apply,
    async health() {
      if (!haproxy || haproxy.exitReason() !== undefined) return {};
      return parseHealth(await adminCommand(paths.socket, "show stat"));
    },
    stop,
  };
}
