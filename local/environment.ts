/**
 * The local stand-in for the cloud, in one process: a registry standing in for GHCR, the deployer's
 * Docker engine, and the Hetzner API emulator whose servers are simulated IPv6-only hosts and whose load
 * balancers are HAProxies in namespaces of their own, reaching the hosts over bridged private networks.
 *
 *   node -r ts-node/register local/environment.ts --dir .pulumi-local
 *
 * Writes <dir>/env.json once everything answers and keeps running until SIGTERM/SIGINT, which stops
 * everything it started. The e2e test uses startLocalEnv() in-process with its own ports and names.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { DockerEngine, startDockerEngine } from "./dockerd";
import { RunningEmulator, startEmulator } from "./emulator/emulator";
import { SimHostBackend } from "./emulator/simhostBackend";
import { SimLbBackend } from "./emulator/simLbBackend";
import { startSimNetwork } from "./privateNetwork";
import { LocalRegistry, startRegistry } from "./registry";
import { startSimHost } from "./simhost";
import { startSimLoadBalancer } from "./simLoadBalancer";

export interface LocalEnvOptions {
  /** State: emulator state, registry storage, deployer engine data, env.json. */
  dir: string;
  apiPort: number;
  registryPort: number;
  /** Credentials the stack config names for the registry. */
  registryCredentials: { user: string; password: string };
  /** Prefix of simulated host names, so two environments can share the machine. */
  hostNamePrefix: string;
  /** Names the deployer engine's directory. */
  engineName: string;
  /** Where server networks come from; two environments on one machine need different pools. */
  ipv6Pool?: string;
  log?: (line: string) => void;
}

export interface LocalEnvInfo {
  pid: number;
  /** For hcloud:endpoint. */
  hcloudEndpoint: string;
  /** For DOCKER_HOST of the deployer (`pulumi up` and image builds). */
  dockerHost: string;
  registry: { host: string; user: string; password: string };
}

export interface LocalEnv {
  readonly info: LocalEnvInfo;
  readonly engine: DockerEngine;
  readonly registry: LocalRegistry;
  stop(): Promise<void>;
}

export const LOCAL_DEFAULTS = {
  apiPort: 25487,
  registryPort: 5000,
  registryCredentials: { user: "local", password: "local-registry-password" },
  hostNamePrefix: "s",
  engineName: "local-deployer",
};

export async function startLocalEnv(opts: LocalEnvOptions): Promise<LocalEnv> {
  await mkdir(opts.dir, { recursive: true });
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s();
    await rm(path.join(opts.dir, "env.json"), { force: true });
  };
  try {
    const registry = await startRegistry({
      port: opts.registryPort,
      dir: path.join(opts.dir, "registry"),
      credentials: opts.registryCredentials,
    });
    stops.push(registry.stop);
    const engine = await startDockerEngine({
      name: opts.engineName,
      root: path.join(opts.dir, "engine"),
      keepData: true,
      insecureRegistries: [registry.host],
    });
    stops.push(engine.stop);
    const hosts = new SimHostBackend(startSimHost, {
      insecureRegistries: [registry.host],
      hostNamePrefix: opts.hostNamePrefix,
      // Beside hcloud.json, whose volumes they are.
      volumesDir: path.join(opts.dir, "volumes"),
    });
    const loadBalancers = new SimLbBackend({
      startNetwork: startSimNetwork,
      startLoadBalancer: startSimLoadBalancer,
      serverNetns: (id) => hosts.netnsOf(id),
      prefix: opts.hostNamePrefix,
    });
    const emulator: RunningEmulator = await startEmulator({
      hosts,
      loadBalancers,
      port: opts.apiPort,
      listen: "127.0.0.1",
      stateFile: path.join(opts.dir, "hcloud.json"),
      ipv6Pool: opts.ipv6Pool,
      log: opts.log,
    });
    stops.push(emulator.close);
    const info: LocalEnvInfo = {
      pid: process.pid,
      hcloudEndpoint: emulator.endpoint,
      dockerHost: engine.dockerHost,
      registry: { host: registry.host, ...opts.registryCredentials },
    };
    // It holds the registry's password (the stack's pull token): readable by its owner only.
    await writeFile(path.join(opts.dir, "env.json"), JSON.stringify(info, null, 2), { mode: 0o600 });
    return { info, engine, registry, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The environment for its log: everything but the registry's password. */
export function describeEnv(info: LocalEnvInfo): string {
  return JSON.stringify({ ...info, registry: { ...info.registry, password: "(in env.json)" } });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { dir: { type: "string", default: ".pulumi-local" } } });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const env = await startLocalEnv({ ...LOCAL_DEFAULTS, dir: path.resolve(values.dir as string), log });
  log(`local environment ready: ${describeEnv(env.info)}`);
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    env.stop().then(
      () => process.exit(0),
      (err: Error) => {
        log(`stopping failed: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`local environment failed: ${err.message}\n`);
    process.exit(1);
  });
}
