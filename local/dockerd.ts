import { request } from "node:http";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { Daemon, claimOwnership, liveOwnerOf, once, readTail, startDaemon, waitUntil } from "./exec";

/** Harness state lives here, on disk: the hosts' disks and engines' data (/tmp or /run may be tmpfs). */
export const HARNESS_STATE_ROOT = "/var/lib/hcloud-deploy-harness";

export interface DockerEngine {
  /** Value for DOCKER_HOST / `docker -H`, e.g. "unix:///var/lib/hcloud-deploy-harness/engines/deployer/docker.sock". */
  readonly dockerHost: string;
  readonly dataRoot: string;
  /** Idempotent; kills the engine with everything it started and removes its root directory. */
  stop(): Promise<void>;
}

export interface DockerEngineOptions {
  /** [a-z0-9-]+; names the default root directory. */
  name: string;
  /** Directory owned by the engine (data-root, exec-root, socket, logs); wiped on start and on stop. */
  root?: string;
  /** Keep the data-root (images, build cache) across restarts; the rest of the root is still wiped. */
  keepData?: boolean;
  /** E.g. a LocalRegistry's host; plain-HTTP registries off loopback must be listed here. */
  insecureRegistries?: string[];
  extraArgs?: string[];
}

export interface EngineLayout {
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  sockets: string[];
  insecureRegistries?: string[];
}

const ENGINE_START_TIMEOUT_MS = 60_000;
// sockaddr_un.sun_path holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH_LENGTH = 107;

/**
 * Starts a dockerd in the root network namespace (the "deployer" that builds, saves and pushes
 * images). It gets no bridge and no iptables rules, so it leaves the machine's network untouched;
 * its containers (and RUN steps of builds) therefore have no network.
 */
export async function startDockerEngine(opts: DockerEngineOptions): Promise<DockerEngine> {
  if (!/^[a-z0-9-]+$/.test(opts.name)) throw new Error(`Invalid engine name ${JSON.stringify(opts.name)}`);
  const root = opts.root ?? path.join(HARNESS_STATE_ROOT, "engines", opts.name);
  const socket = path.join(root, "docker.sock");
  const dataRoot = path.join(root, "data");
  const configFile = path.join(root, "daemon.json");

  const owner = await liveOwnerOf(root);
  if (owner !== undefined) {
    throw new Error(`Docker engine ${opts.name} belongs to live process ${owner} (${root})`);
  }
  // Leftovers of a crashed run are only files: its processes died with it (see startDaemon) and
  // its mounts lived in the engine's private mount namespace.
  await clearRoot(root, dataRoot, opts.keepData);
  await mkdir(root, { recursive: true });
  await claimOwnership(root);
  const config = {
    ...dockerdConfig({
      dataRoot,
      execRoot: path.join(root, "exec"),
      pidfile: path.join(root, "docker.pid"),
      sockets: [socket],
      insecureRegistries: opts.insecureRegistries,
    }),
    bridge: "none",
    iptables: false,
  };
  await writeFile(configFile, JSON.stringify(config, null, 2));

  // A private mount namespace makes every overlay mount vanish with the engine; a PID namespace
  // with tini as its init makes killing tini take dockerd, containerd, shims and containers along.
  const namespaces = ["--mount", "--propagation=private", "--pid", "--fork", "--kill-child", "--mount-proc"];
  const dockerd = ["dockerd", "--config-file", configFile, ...(opts.extraArgs ?? [])];
  const daemon = startDaemon(
    ["unshare", ...namespaces, "--", "tini", "--", ...dockerd],
    path.join(root, "dockerd.log"),
  );
  const engine: DockerEngine = {
    dockerHost: `unix://${socket}`,
    dataRoot,
    stop: once(async () => {
      await daemon.stop();
      await clearRoot(root, dataRoot, opts.keepData);
    }),
  };
  try {
    await waitForDockerEngine(socket, daemon);
  } catch (err) {
    await engine.stop();
    throw err;
  }
  return engine;
}

async function clearRoot(root: string, dataRoot: string, keepData = false): Promise<void> {
  if (!keepData) return rm(root, { recursive: true, force: true });
  const entries = await readdir(root).catch(() => []);
  await Promise.all(
    entries
      .map((entry) => path.join(root, entry))
      .filter((entry) => entry !== dataRoot)
      .map((entry) => rm(entry, { recursive: true, force: true })),
  );
}

/** dockerd settings shared by the deployer engine and the engines inside simulated hosts. */
export function dockerdConfig(layout: EngineLayout): Record<string, unknown> {
  for (const socket of layout.sockets) {
    if (socket.length > MAX_SOCKET_PATH_LENGTH) {
      throw new Error(`Docker socket path is too long for a unix socket (${socket.length} chars): ${socket}`);
    }
  }
  return {
    "data-root": layout.dataRoot,
    "exec-root": layout.execRoot,
    pidfile: layout.pidfile,
    hosts: layout.sockets.map((socket) => `unix://${socket}`),
    "insecure-registries": layout.insecureRegistries ?? [],
  };
}

/** Waits until the engine answers, failing fast with the log's tail when dockerd ends first. */
async function waitForDockerEngine(socket: string, dockerd: Daemon): Promise<void> {
  await waitUntil(
    async () => {
      const exit = dockerd.exitReason();
      if (exit !== undefined) {
        throw new Error(`dockerd ${exit} before answering; log:\n${await readTail(dockerd.logFile)}`);
      }
      return dockerEngineAnswers(socket);
    },
    ENGINE_START_TIMEOUT_MS,
    async () =>
      `dockerd did not answer on ${socket} within ${ENGINE_START_TIMEOUT_MS} ms; log:\n` +
      (await readTail(dockerd.logFile)),
  );
}

/** Whether the engine on this unix socket answers GET /info, which is what `docker info` asks. */
export function dockerEngineAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/info", timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}
