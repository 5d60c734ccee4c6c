import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { AddressInfo, createServer } from "node:net";
import { Daemon, once, readTail, run, startDaemon, waitUntil } from "./exec";
import {
  HARNESS_REGISTRY_HOSTNAME,
  HARNESS_SERVICE_ADDRESS,
  acquireHarnessNetwork,
  releaseHarnessNetwork,
} from "./hostNetwork";

/**
 * The stand-in for GHCR: Debian's docker-registry (distribution 2.8) with htpasswd auth over plain
 * HTTP, listening on [HARNESS_SERVICE_ADDRESS]:port, which the root namespace and every simulated
 * host reach. Clients address it by HARNESS_REGISTRY_HOSTNAME, because Docker 20.10 refuses image
 * references with IPv6 literals. It is plain HTTP off loopback, so every engine that talks to it
 * needs `host` in its insecureRegistries (Docker refuses the login otherwise).
 */
export interface LocalRegistry {
  /** What image references and `docker login` use, e.g. "registry.hcd.test:41235". */
  readonly host: string;
  readonly user: string;
  readonly password: string;
  /** Idempotent; kills the registry and removes its directory unless the caller supplied it. */
  stop(): Promise<void>;
}

const REGISTRY_START_TIMEOUT_MS = 15_000;

export interface RegistryOptions {
  port?: number;
  dir?: string;
  /** Fixed credentials, for a stack config that names them; random by default. */
  credentials?: { user: string; password: string };
}

export async function startRegistry(opts: RegistryOptions = {}): Promise<LocalRegistry> {
  const dir = opts.dir ?? (await mkdtemp(path.join(tmpdir(), "hcd-registry-")));
  const user = opts.credentials?.user ?? "harness";
  const password = opts.credentials?.password ?? randomBytes(16).toString("hex");

  await acquireHarnessNetwork();
  let daemon: Daemon | undefined;
  const stop = once(async () => {
    await daemon?.stop();
    await releaseHarnessNetwork();
    if (opts.dir === undefined) await rm(dir, { recursive: true, force: true });
  });
  try {
    // A free port by default, so that test processes sharing the machine get a registry each.
    const port = opts.port ?? (await freePort(HARNESS_SERVICE_ADDRESS));
    const listen = `[${HARNESS_SERVICE_ADDRESS}]:${port}`;
    const configFile = await writeRegistryConfig(dir, listen, user, password);
    daemon = startDaemon(["docker-registry", "serve", configFile], path.join(dir, "registry.log"));
    await waitForRegistry(listen, daemon);
    return { host: `${HARNESS_REGISTRY_HOSTNAME}:${port}`, user, password, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function writeRegistryConfig(dir: string, listen: string, user: string, password: string) {
  await mkdir(dir, { recursive: true });
  // The registry accepts only bcrypt entries; -i reads the password from stdin, off the command line.
  const htpasswdFile = path.join(dir, "htpasswd");
  await writeFile(htpasswdFile, (await run("htpasswd", ["-niB", user], { input: password })).stdout);
  // JSON is YAML, so the registry reads this as its config.yml.
  const configFile = path.join(dir, "config.yml");
  const config = {
    version: "0.1",
    log: { level: "info", accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: path.join(dir, "storage") }, delete: { enabled: true } },
    http: { addr: listen, secret: randomBytes(16).toString("hex") },
    auth: { htpasswd: { realm: "hcloud-deploy-harness", path: htpasswdFile } },
  };
  await writeFile(configFile, JSON.stringify(config, null, 2));
  return configFile;
}

async function waitForRegistry(listen: string, daemon: Daemon): Promise<void> {
  await waitUntil(
    async () => {
      const exit = daemon.exitReason();
      if (exit !== undefined) {
        throw new Error(`docker-registry ${exit} before answering; log:\n${await readTail(daemon.logFile)}`);
      }
      return demandsAuth(`http://${listen}/v2/`);
    },
    REGISTRY_START_TIMEOUT_MS,
    async () =>
      `docker-registry did not answer on ${listen} within ${REGISTRY_START_TIMEOUT_MS} ms; log:\n` +
      (await readTail(daemon.logFile)),
  );
}

function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, address, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A 401 from /v2/ proves both that the registry serves and that authentication is on. */
async function demandsAuth(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.status === 401;
  } catch {
    return false;
  }
}
