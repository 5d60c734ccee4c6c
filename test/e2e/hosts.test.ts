// Hosts on the real Pulumi engine, against the emulator's catalog: the preflight at preview (one line per
// case, printed as `preflight: <case>: <line>`), and an upgrade from a stack the previous release created
// with its defaults (cx22, debian-12). Needs root and a `pulumi` on PATH; without one it is skipped.
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse, stringify } from "yaml";
import { run } from "../../local/exec";
import { LOCAL_DEFAULTS, LocalEnv, startLocalEnv } from "../../local/environment";
import { HARNESS_STATE_ROOT } from "../../local/dockerd";
import { DEPRECATION_PATH, SOLD_OUT_PATH } from "../../local/emulator/emulator";
import { copyProject, pulumi, pulumiEnv, selectStackOn } from "../../local/stack";

const ROOT = path.resolve(__dirname, "../..");
const STACK = "local";
/** The last commit before hosts kept their specs: the release whose defaults were cx22 and debian-12. */
const PREVIOUS_RELEASE = "11f889c";

const skipReason =
  spawnSync("pulumi", ["version"], { encoding: "utf8" }).status === 0
    ? undefined
    : "no working `pulumi` on PATH; scripts/pulumi-toolchain.sh provides one where Pulumi's binaries or sources can be fetched";
if (skipReason) process.stderr.write(`e2e hosts SKIPPED: ${skipReason}\n`);
const describeE2e = skipReason ? describe.skip : describe;

type Opts = { cwd: string; env: NodeJS.ProcessEnv };
let env: LocalEnv;
const dirs: string[] = [];

/** Runs pulumi; `output` has both streams, `stdout` alone (for --json). */
function runCaptured(args: string[], opts: Opts): Promise<{ code: number; output: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("pulumi", args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => ((output += d), (stdout += d)));
    child.stderr.on("data", (d: Buffer) => (output += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output, stdout }));
  });
}

async function admin(pathname: string, body: unknown): Promise<void> {
  const endpoint = env.info.hcloudEndpoint.replace(/\/v1$/, "");
  const res = await fetch(`${endpoint}${pathname}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${pathname}: HTTP ${res.status} ${await res.text()}`);
}

async function emulatorState(): Promise<Record<string, unknown[]>> {
  const endpoint = env.info.hcloudEndpoint.replace(/\/v1$/, "");
  return (await (await fetch(`${endpoint}/__emulator/state`)).json()) as Record<string, unknown[]>;
}

/** Edits the stack file's config in place (the keys selectStackOn set stay). */
async function editConfig(dir: string, edit: (config: Record<string, any>) => void): Promise<void> {
  const file = path.join(dir, `Pulumi.${STACK}.yaml`);
  const doc = parse(await readFile(file, "utf8"));
  edit(doc.config);
  await writeFile(file, stringify(doc));
}

/** A project copy with its own backend, on this run's environment, deploying hosts only. */
async function stackCopy(prepare: (dir: string) => Promise<void>): Promise<Opts> {
  const dir = await mkdtemp(path.join(tmpdir(), "hcd-e2e-hosts-"));
  dirs.push(dir);
  await prepare(dir);
  const opts = { cwd: dir, env: pulumiEnv(dir, env.info) };
  await selectStackOn(STACK, env.info, opts);
  await hostsOnly(opts);
  return opts;
}

async function hostsOnly(opts: Opts): Promise<void> {
  await editConfig(opts.cwd, (config) => {
    for (const key of ["hcloud-deploy:apps", "hcloud-deploy:appSecrets", "hcloud-deploy:imagePins"])
      delete config[key];
  });
}

/** The first preflight line of a command's output, printed under the case's name. */
function preflightLine(name: string, output: string, level: "error" | "warning"): string {
  const line = output.split("\n").find((l) => l.includes(`${level}: preflight: hcloud-deploy:`));
  if (!line) throw new Error(`${name}: no ${level} from the preflight in:\n${output}`);
  const text = line.slice(line.indexOf("preflight: ") + "preflight: ".length).trim();
  process.stdout.write(`preflight: ${name}: ${text}\n`);
  return text;
}

const hcloudResources = async () => {
  const state = await emulatorState();
  return ["servers", "sshKeys", "primaryIps", "firewalls"].map((k) => [k, state[k].length]);
};

describeE2e("hosts on the real engine", () => {
  beforeAll(async () => {
    // A fresh cloud: the emulator would bring back the servers an earlier, failed run left.
    const dir = path.join(HARNESS_STATE_ROOT, "e2e-hosts");
    await rm(dir, { recursive: true, force: true });
    env = await startLocalEnv({
      dir,
      apiPort: 25489,
      registryPort: 5002,
      registryCredentials: LOCAL_DEFAULTS.registryCredentials,
      hostNamePrefix: "h",
      ipv6Pool: "fd5e:e2e1::/32",
      engineName: "e2e-hosts-deployer",
    });
  }, 300_000);

  afterAll(async () => {
    await env?.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  describe("the preflight at preview", () => {
    let opts: Opts;
    beforeAll(async () => {
      opts = await stackCopy((dir) => copyProject(ROOT, dir));
    }, 120_000);
    const setHost = (index: number, fields: Record<string, unknown>) =>
      editConfig(opts.cwd, (config) => Object.assign(config["hcloud-deploy:hosts"][index], fields));
    const preview = () =>
      runCaptured(["preview", "--stack", STACK, "--non-interactive", "--color", "never"], opts);

    test("a host on cx22: `pulumi up` fails before anything is created, naming what fsn1 offers", async () => {
      await setHost(0, { serverType: "cx22" });
      const result = await runCaptured(
        ["up", "--stack", STACK, "--yes", "--skip-preview", "--color", "never"],
        opts,
      );
      await setHost(0, { serverType: undefined });
      expect(result.code).not.toBe(0);
      expect(preflightLine("removed type", result.output, "error")).toMatch(
        /^hcloud-deploy:hosts\[0\]\.serverType: host local-1 in fsn1: server type cx22 is not in Hetzner's catalog \(removed or unknown\); orderable in fsn1 instead: .*cx23/,
      );
      expect(await hcloudResources()).toEqual([
        ["servers", 0],
        ["sshKeys", 0],
        ["primaryIps", 0],
        ["firewalls", 0],
      ]);
    }, 300_000);

    test("a type sold out in the host's location fails the preview", async () => {
      await admin(SOLD_OUT_PATH, { server_type: "cx23", location: "nbg1" });
      const result = await preview();
      await admin(SOLD_OUT_PATH, { server_type: "cx23", location: "nbg1", sold_out: false });
      expect(result.code).not.toBe(0);
      expect(preflightLine("sold out", result.output, "error")).toMatch(
        /^hcloud-deploy:hosts\[1\]\.serverType: host local-2 in nbg1: server type cx23 cannot be ordered in nbg1 now \(sold out or withdrawn there\); orderable in nbg1 instead: /,
      );
    }, 300_000);

    test("a deprecated type still orderable warns, and the preview succeeds", async () => {
      const deprecation = { announced: "2026-11-20T09:00:00Z", unavailable_after: "2027-06-30T23:59:59Z" };
      await admin(DEPRECATION_PATH, { server_type: "cx23", location: "fsn1", deprecation });
      const result = await preview();
      await admin(DEPRECATION_PATH, { server_type: "cx23", location: "fsn1", reset: true });
      expect(result.code).toBe(0);
      expect(preflightLine("deprecated", result.output, "warning")).toMatch(
        /^hcloud-deploy:hosts\[0\]\.serverType: host local-1 in fsn1: server type cx23 is deprecated on 2026-11-20 and unavailable after 2027-06-30; orderable in fsn1 instead: /,
      );
    }, 300_000);

    test("an arm64 type for a host running a prebuilt amd64 image fails the preview", async () => {
      await setHost(0, { serverType: "cax11" });
      await editConfig(opts.cwd, (config) => {
        config["hcloud-deploy:apps"] = [
          {
            name: "web",
            hosts: ["local-1"],
            image: `${env.info.registry.host}/local/web@sha256:${"ab".repeat(32)}`,
            port: 8080,
          },
        ];
      });
      const result = await preview();
      await setHost(0, { serverType: undefined });
      await hostsOnly(opts);
      expect(result.code).not.toBe(0);
      expect(preflightLine("arm64 host, amd64 image", result.output, "error")).toMatch(
        /^hcloud-deploy:hosts\[0\]\.serverType: host local-1 in fsn1: server type cax11 is arm, and apps are built and delivered for x86 \(linux\/amd64\) only so far: web could not run there; orderable in fsn1 instead: /,
      );
    }, 300_000);
  });

  describe("an upgrade from the previous release's defaults", () => {
    let opts: Opts;
    const servers = async () =>
      Object.fromEntries(
        ((await emulatorState()).servers as { name: string; serverTypeName: string }[]).map((s) => [
          s.name,
          s.serverTypeName,
        ]),
      );

    test("hosts created with cx22 preview with no server change, and a generation bump moves one to cx23", async () => {
      // The previous release, as Hetzner listed cx22 then (orderable until 2025-12-31).
      opts = await stackCopy(async (dir) => {
        await run("sh", ["-c", `git -C "$0" archive ${PREVIOUS_RELEASE} | tar -x -C "$1"`, ROOT, dir]);
        await run("ln", ["-s", path.join(ROOT, "node_modules"), path.join(dir, "node_modules")]);
      });
      const ahead = { announced: "2025-10-16T06:00:00Z", unavailable_after: "2099-12-31T23:59:59Z" };
      for (const location of ["fsn1", "nbg1"])
        await admin(DEPRECATION_PATH, { server_type: "cx22", location, deprecation: ahead });
      await pulumi(
        ["up", "--stack", STACK, "--yes", "--skip-preview", "--message", "previous release"],
        opts,
      );
      expect(await servers()).toEqual({ "local-1-local": "cx22", "local-2-local": "cx22" });
      // Then Hetzner withdrew cx22; this release replaces the program, the stack stays.
      for (const location of ["fsn1", "nbg1"])
        await admin(DEPRECATION_PATH, { server_type: "cx22", location, reset: true });
      await unlink(path.join(opts.cwd, "node_modules"));
      await copyProject(ROOT, opts.cwd);
      await selectStackOn(STACK, env.info, opts);
      await hostsOnly(opts);

      const preview = await runCaptured(["preview", "--stack", STACK, "--json", "--non-interactive"], opts);
      expect([preview.code, preview.code === 0 ? "" : preview.output]).toEqual([0, ""]);
      const plan = JSON.parse(preview.stdout) as {
        steps?: { op: string; urn: string }[];
        changeSummary: Record<string, number>;
      };
      const changed = (plan.steps ?? [])
        .filter((s) => s.op !== "same")
        .map((s) => `${s.op} ${s.urn.split("::").pop()}`);
      process.stdout.write(
        `upgrade: preview after the upgrade: ${JSON.stringify(plan.changeSummary)}; not same: ${changed.join(", ")}\n`,
      );
      expect(changed.filter((s) => s.endsWith("-server"))).toEqual([]);

      await pulumi(["up", "--stack", STACK, "--yes", "--skip-preview", "--message", "upgraded"], opts);
      expect(await servers()).toEqual({ "local-1-local": "cx22", "local-2-local": "cx22" });
      await editConfig(opts.cwd, (config) => {
        config["hcloud-deploy:hosts"][0].generation = 2;
      });
      await pulumi(["up", "--stack", STACK, "--yes", "--skip-preview", "--message", "bump local-1"], opts);
      const after = await servers();
      process.stdout.write(`upgrade: after local-1's generation bump: ${JSON.stringify(after)}\n`);
      expect(after).toEqual({ "local-1-local": "cx23", "local-2-local": "cx22" });
      await pulumi(["destroy", "--stack", STACK, "--yes", "--skip-preview"], opts);
      expect(await hcloudResources()).toEqual([
        ["servers", 0],
        ["sshKeys", 0],
        ["primaryIps", 0],
        ["firewalls", 0],
      ]);
    }, 1_200_000);
  });
});
