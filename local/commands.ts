/**
 * The main job on one machine, no cloud account needed:
 *   npm run local:up     start the local environment, build and pin the app images, `pulumi up` the
 *                        `local` stack, print where each app answers; apps a rollback pinned stay
 *                        pinned unless `-- --roll-forward` is given
 *   npm run local:down   `pulumi destroy` the stack and stop the local environment
 * The day-2 commands (rollback, status, logs) take the local stack's Pulumi environment from here.
 * Needs root (network namespaces, daemons). Uses the `pulumi` on PATH, or builds one with
 * scripts/pulumi-toolchain.sh.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, openSync, readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { delay } from "./exec";
import { LocalEnvInfo } from "./environment";
import { ensureHostRootfs, HOST_RELEASES } from "./hostRootfs";
import {
  buildLocalImage,
  localApps,
  pinImages,
  planLocalPins,
  pulumi,
  pulumiEnv,
  pulumiOutput,
  stackPins,
} from "./stack";

const ROOT = path.resolve(__dirname, "..");
const STATE_DIR = path.join(ROOT, ".pulumi-local");
const ENV_FILE = path.join(STATE_DIR, "env.json");
/** The digests `local:up` pinned last, to tell them from pins a rollback wrote since. */
const BUILT_PINS_FILE = path.join(STATE_DIR, "built-pins.json");
/** The stack `local:up` deploys; the day-2 commands recognise it by this name. */
export const LOCAL_STACK = "local";
const STACK = LOCAL_STACK;
const ENV_START_TIMEOUT_MS = 180_000;

export function say(line: string): void {
  process.stderr.write(`local: ${line}\n`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function runningEnv(): LocalEnvInfo | undefined {
  if (!existsSync(ENV_FILE)) return undefined;
  const info = JSON.parse(readFileSync(ENV_FILE, "utf8")) as LocalEnvInfo;
  return alive(info.pid) ? info : undefined;
}

/**
 * The environment `pulumi` needs for the local stack, as `local:up` uses it: file backend, passphrase
 * and, while the local environment runs, the deployer's engine. What rollback, status and logs use, so
 * they work as docs/operations.md and docs/rollback.md show with nothing set by hand.
 */
export function localStackEnv(): NodeJS.ProcessEnv {
  return pulumiEnv(ROOT, runningEnv());
}

/** Puts a pulumi on PATH: the one already there, or the project's toolchain build. */
export function ensurePulumi(): void {
  if (spawnSync("pulumi", ["version"], { stdio: "ignore" }).status === 0) return;
  say("no pulumi on PATH; providing one with scripts/pulumi-toolchain.sh");
  const result = spawnSync("bash", [path.join(ROOT, "scripts/pulumi-toolchain.sh")], {
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error("the Pulumi CLI and plugins could not be provided (see above)");
  const bin = result.stdout.trim().split("\n").pop() as string;
  process.env.PATH = `${bin}:${process.env.PATH}`;
}

async function startEnv(): Promise<LocalEnvInfo> {
  const existing = runningEnv();
  if (existing) return existing;
  await mkdir(STATE_DIR, { recursive: true });
  await rm(ENV_FILE, { force: true });
  const logFile = path.join(STATE_DIR, "env.log");
  say(`starting the local environment (log: ${path.relative(ROOT, logFile)})`);
  const log = openSync(logFile, "a");
  const child = spawn(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", path.join(ROOT, "local/environment.ts"), "--dir", STATE_DIR],
    { cwd: ROOT, detached: true, stdio: ["ignore", log, log] },
  );
  child.unref();
  const deadline = Date.now() + ENV_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const info = runningEnv();
    if (info) return info;
    if (child.exitCode !== null) break;
    await delay(500);
  }
  throw new Error(`the local environment did not come up; see ${logFile}`);
}

function lastBuiltPins(): Record<string, string> | undefined {
  return existsSync(BUILT_PINS_FILE) ? JSON.parse(readFileSync(BUILT_PINS_FILE, "utf8")) : undefined;
}

/**
 * `npm run local:up [-- --roll-forward]`: environment, images, pins, `pulumi up`, and where the apps
 * answer. An app a rollback (or anything but local:up) pinned since the last run keeps its pin, and
 * says so, unless rolling forward.
 */
export async function up(argv: readonly string[] = []): Promise<void> {
  const unknown = argv.filter((a) => a !== "--roll-forward");
  if (unknown.length > 0)
    throw new Error(`unknown option ${unknown[0]} (usage: local:up [-- --roll-forward])`);
  ensurePulumi();
  // Servers boot debian-12 or debian-13 root file systems: a first run builds both here, showing each
  // step, rather than inside the environment while a server create waits; later runs reuse them.
  await Promise.all(HOST_RELEASES.map((release) => ensureHostRootfs(release, say)));
  const info = await startEnv();
  const opts = { cwd: ROOT, env: pulumiEnv(ROOT, info) };
  await mkdir(path.join(STATE_DIR, "state"), { recursive: true });
  await pulumi(["stack", "select", STACK, "--create", "--secrets-provider", "passphrase"], opts);

  const stackFile = path.join(ROOT, `Pulumi.${STACK}.yaml`);
  const apps = localApps(stackFile);
  const built = lastBuiltPins();
  const plan = planLocalPins(
    apps.map((a) => a.name),
    stackPins(stackFile),
    built,
    argv.includes("--roll-forward"),
  );
  for (const [app, ref] of plan.kept) {
    say(
      `${app} stays on ${ref}: a rollback pinned it (npm run local:up -- --roll-forward deploys the sources)`,
    );
  }
  const refs: Record<string, string> = {};
  for (const app of apps.filter((a) => plan.build.includes(a.name))) {
    say(`building ${app.name} from ${app.context}`);
    refs[app.name] = await buildLocalImage(ROOT, app, info);
  }
  await pinImages(STACK, refs, opts);
  await writeFile(BUILT_PINS_FILE, `${JSON.stringify({ ...built, ...refs }, null, 2)}\n`);
  await pulumi(["up", "--stack", STACK, "--yes", "--skip-preview"], opts);

  await printEndpoints(opts);
}

interface Endpoint {
  host: string;
  url: string;
  address: string;
  /** false: the firewall keeps it closed to the internet (the emulator's firewalls do not filter). */
  public?: boolean;
}

/** Where each app answers; for HTTPS, the CA files to trust and a curl line per host. */
async function printEndpoints(opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<void> {
  const output = async (name: string) =>
    JSON.parse(await pulumiOutput(["stack", "output", "--stack", STACK, "--json", name], opts));
  const endpoints = (await output("appEndpoints")) as Record<string, Endpoint[]>;
  const cas = (await output("proxyCaCertificates")) as Record<string, string>;
  const caDir = path.join(STATE_DIR, "ca");
  await mkdir(caDir, { recursive: true });
  for (const [host, pem] of Object.entries(cas))
    if (pem) await writeFile(path.join(caDir, `${host}.crt`), pem);
  say("apps answer at:");
  const tries: string[] = [];
  for (const [app, list] of Object.entries(endpoints)) {
    for (const { host, url, address, public: isPublic } of list) {
      if (!url.includes("://")) {
        process.stdout.write(`  ${app}  ${url} on the apps' network of ${host} (no route)\n`);
        continue;
      }
      if (isPublic === false) {
        const port = new URL(url).port;
        process.stdout.write(
          `  ${app}  ${url} (public: false: the stack's apps call ${app}.internal:${port})\n`,
        );
        continue;
      }
      if (!url.startsWith("https://")) {
        process.stdout.write(`  ${app}  ${url}\n`);
        tries.push(`curl -g ${url}`);
        continue;
      }
      const name = new URL(url).hostname;
      const ca = path.relative(ROOT, path.join(caDir, `${host}.crt`));
      process.stdout.write(`  ${app}  ${url} on ${host} [${address}]\n`);
      tries.push(`curl --cacert ${ca} --resolve ${name}:443:[${address}] ${url}`);
    }
  }
  const balancers = (await output("appLoadBalancers")) as Record<string, { url: string }>;
  for (const [app, lb] of Object.entries(balancers)) {
    process.stdout.write(`  ${app}  ${lb.url}  (load balancer: once a target passed its health check)\n`);
  }
  if (tries.some((t) => t.includes("--cacert"))) {
    say(
      `HTTPS certificates come from each host's own CA (tls issuer "internal"), saved in ${path.relative(ROOT, caDir)}/`,
    );
  }
  say("try:");
  for (const line of tries) process.stdout.write(`  ${line}\n`);
}

/** `npm run local:down`: `pulumi destroy` and the environment stopped. */
export async function down(): Promise<void> {
  const info = runningEnv();
  if (!info) {
    say("the local environment is not running; nothing to destroy");
    return;
  }
  ensurePulumi();
  await pulumi(["destroy", "--stack", STACK, "--yes", "--skip-preview"], {
    cwd: ROOT,
    env: pulumiEnv(ROOT, info),
  });
  process.kill(info.pid, "SIGTERM");
  while (alive(info.pid)) await delay(200);
  say("local environment stopped");
}
