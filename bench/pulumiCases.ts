/**
 * The `pulumi up` cases: the local stack (Hetzner API emulator, simulated hosts, local registry) on a copy
 * of the project, with its own ports and host names. Needs a `pulumi` on PATH; without one they are
 * skipped, saying why (CI has none).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { HARNESS_STATE_ROOT } from "../local/dockerd";
import { run } from "../local/exec";
import { LOCAL_DEFAULTS, startLocalEnv } from "../local/environment";
import { buildLocalImage, copyProject, localApps, pinImages, pulumi, pulumiEnv } from "../local/stack";
import type { Log } from "./image";
import type { CaseResult } from "./report";

const ROOT = path.resolve(__dirname, "..");
const STACK = "local";

export interface PulumiRun {
  readonly cases: CaseResult[];
  /** Resources the no-change `pulumi up` touched (null when skipped). */
  readonly noopChanges: number | null;
}

export function pulumiMissing(): string | undefined {
  const probe = spawnSync("pulumi", ["version"], { encoding: "utf8" });
  return probe.error || probe.status !== 0
    ? "no pulumi on PATH (source /opt/hcd-e2e/env.sh, or scripts/pulumi-toolchain.sh, provides one)"
    : undefined;
}

/** `pulumi up`, timed, with its output; fails on a non-zero exit. */
function timedUp(
  opts: { cwd: string; env: NodeJS.ProcessEnv },
  message: string,
): Promise<{ seconds: number; output: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(
      "pulumi",
      ["up", "--stack", STACK, "--yes", "--skip-preview", "--message", message],
      opts,
    );
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d));
    child.stderr.on("data", (d: Buffer) => (output += d));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve({ seconds: (performance.now() - started) / 1000, output })
        : reject(new Error(`pulumi up failed (${code}):\n${output.slice(-3000)}`)),
    );
  });
}

/** Seconds per resource that an update created, updated or replaced, from Pulumi's progress lines. */
export function stepSeconds(output: string): Record<string, number> {
  const steps: Record<string, number> = {};
  const line = /^\s*[+~-]+\s+\S+ (\S+) (?:created replacement|created|updated) \(([\d.]+)s\)/gm;
  for (const [, name, seconds] of output.matchAll(line))
    steps[name] = Math.max(steps[name] ?? 0, Number(seconds));
  return steps;
}

/** Resources an update created, updated, replaced or deleted, from its "Resources:" summary. */
export function changedResources(output: string): number {
  const summary = output.slice(output.lastIndexOf("Resources:"));
  return [...summary.matchAll(/^\s+[+~-]*\s*(\d+) (created|updated|replaced|deleted)/gm)].reduce(
    (n, m) => n + Number(m[1]),
    0,
  );
}

async function bytesToHosts(prefix: string): Promise<number> {
  const links = (await run("ls", ["/sys/class/net"])).stdout
    .split("\n")
    .filter((l) => l.startsWith(`hcd-${prefix}`));
  let total = 0;
  for (const link of links)
    total += Number((await run("cat", [`/sys/class/net/${link}/statistics/tx_bytes`])).stdout);
  return total;
}

const LABELS = {
  change: "pulumi up, local stack, one-file change",
  noop: "pulumi up, local stack, nothing changed",
};

/** Both cases, not measured, saying why. */
function missing(reason: string): PulumiRun {
  const none = { hosts: 2, bytes: null, uplinkBytes: null, seconds: null, skipped: reason };
  return {
    cases: [
      { id: "pulumi-change", label: LABELS.change, ...none },
      { id: "pulumi-noop", label: LABELS.noop, ...none },
    ],
    noopChanges: null,
  };
}

export async function runPulumiCases(log: Log): Promise<PulumiRun> {
  const skipped = pulumiMissing();
  if (skipped) {
    log(`pulumi cases SKIPPED: ${skipped}`);
    return missing(skipped);
  }
  const work = await mkdtemp(path.join(tmpdir(), "hcd-bench-stack-"));
  // A fresh cloud each run: the stack lives in `work`, which goes at the end.
  const dir = path.join(HARNESS_STATE_ROOT, "bench-stack");
  await rm(dir, { recursive: true, force: true });
  const env = await startLocalEnv({
    dir,
    apiPort: 25489,
    registryPort: 5003,
    registryCredentials: LOCAL_DEFAULTS.registryCredentials,
    hostNamePrefix: "k",
    ipv6Pool: "fd5e:be00::/32",
    engineName: "bench-stack-deployer",
  });
  try {
    await copyProject(ROOT, work);
    const opts = { cwd: work, env: pulumiEnv(work, env.info) };
    await mkdir(path.join(work, ".pulumi-local", "state"), { recursive: true });
    await pulumi(["stack", "select", STACK, "--create", "--secrets-provider", "passphrase"], opts);
    await pulumi(["config", "set", "--stack", STACK, "hcloud:endpoint", env.info.hcloudEndpoint], opts);
    await pulumi(
      ["config", "set", "--stack", STACK, "--path", "hcloud-deploy:registry.server", env.info.registry.host],
      opts,
    );
    const apps = localApps(path.join(work, `Pulumi.${STACK}.yaml`));
    const buildAndPin = async (names: string[]) => {
      const refs: Record<string, string> = {};
      for (const app of apps.filter((a) => names.includes(a.name)))
        refs[app.name] = await buildLocalImage(work, app, env.info);
      await pinImages(STACK, refs, opts);
    };
    log("pulumi up from empty on the local stack (not measured)");
    await buildAndPin(apps.map((a) => a.name));
    await timedUp(opts, "bench v1");

    await writeFile(path.join(work, "apps", "web", "www", "index.html"), `web ${Date.now()}\n`);
    await buildAndPin(["web"]);
    let before = await bytesToHosts("k");
    const change = await timedUp(opts, "bench one-file change");
    const changeBytes = (await bytesToHosts("k")) - before;
    const steps = stepSeconds(change.output);
    const stepList = Object.entries(steps).map(([name, s]) => `${name} ${s} s`);
    log(`${LABELS.change}: ${change.seconds.toFixed(1)} s; resources: ${stepList.join(", ")}`);

    before = await bytesToHosts("k");
    const noop = await timedUp(opts, "bench nothing changed");
    const noopBytes = (await bytesToHosts("k")) - before;
    const noopChanges = changedResources(noop.output);
    log(
      `${LABELS.noop}: ${noop.seconds.toFixed(1)} s, ${noopChanges} resources changed, ${noopBytes} bytes to the hosts`,
    );
    return {
      cases: [
        {
          id: "pulumi-change",
          label: LABELS.change,
          hosts: 2,
          bytes: changeBytes,
          uplinkBytes: null,
          seconds: change.seconds,
          steps,
        },
        {
          id: "pulumi-noop",
          label: LABELS.noop,
          hosts: 2,
          bytes: noopBytes,
          uplinkBytes: null,
          seconds: noop.seconds,
        },
      ],
      noopChanges,
    };
  } catch (err) {
    // The delivery figures still count; the pulumi cases say why they are missing.
    const reason = `pulumi up failed: ${(err as Error).message.split("\n")[0]}`;
    log(`${reason}\n${(err as Error).message}`);
    return missing(reason);
  } finally {
    await env.stop();
    await rm(work, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
}
