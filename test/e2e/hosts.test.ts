// Hosts and apps on the real Pulumi engine, against the emulator's catalog: the preflight at preview (one
// line per case, printed as `preflight: <case>: <line>`), one app on an amd64 and an arm64 host, a release
// command's runs, and an upgrade from a stack the previous release created with its defaults (cx22,
// debian-12). Needs root and a `pulumi` on PATH; without one it is skipped.
import { mkdtemp, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse, stringify } from "yaml";
import { run } from "../../local/exec";
import { LOCAL_DEFAULTS, LocalEnv, startLocalEnv } from "../../local/environment";
import { HARNESS_STATE_ROOT } from "../../local/dockerd";
import { DEPRECATION_PATH, SOLD_OUT_PATH } from "../../local/emulator/emulator";
import { buildHttpImage, pushImage, pushIndex } from "../../local/images";
import { copyProject, pulumi, pulumiEnv, selectStackOn } from "../../local/stack";
import { startProbe } from "../integration/probe";
import { describeWithEngine, runCaptured } from "./engine";

const ROOT = path.resolve(__dirname, "../..");
const STACK = "local";
/** The last commit before hosts kept their specs: the release whose defaults were cx22 and debian-12. */
const PREVIOUS_RELEASE = "11f889c";

const describeE2e = describeWithEngine("e2e hosts");

type Opts = { cwd: string; env: NodeJS.ProcessEnv };
let env: LocalEnv;
const dirs: string[] = [];

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
  const line = output.split("\n").find((l) => l.includes(`${level}: preflight: `));
  if (!line) throw new Error(`${name}: no ${level} from the preflight in:\n${output}`);
  const text = line.slice(line.indexOf("preflight: ") + "preflight: ".length).trim();
  process.stdout.write(`preflight: ${name}: ${text}\n`);
  return text;
}

async function outputOfStack<T>(opts: Opts, name: string): Promise<T> {
  return JSON.parse(
    (await runCaptured(["stack", "output", "--stack", STACK, "--json", name], opts)).stdout,
  ) as T;
}

/** The digest reference the registry gave a pushed tag. */
async function digestRefOf(pushed: string): Promise<string> {
  const inspect = await run("docker", ["image", "inspect", "--format", "{{index .RepoDigests 0}}", pushed], {
    env: { ...process.env, DOCKER_HOST: env.info.dockerHost },
  });
  return inspect.stdout.trim();
}

const NOTHING = [
  ["servers", 0],
  ["sshKeys", 0],
  ["primaryIps", 0],
  ["firewalls", 0],
];
const hcloudResources = async () => {
  const state = await emulatorState();
  return NOTHING.map(([k]) => [k, state[k as string].length]);
};

/** `pulumi destroy`, and the emulator holds nothing the stack made. */
async function destroyAll(opts: Opts): Promise<void> {
  await pulumi(["destroy", "--stack", STACK, "--yes", "--skip-preview"], opts);
  expect(await hcloudResources()).toEqual(NOTHING);
}

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
      expect(await hcloudResources()).toEqual(NOTHING);
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
      const engine = { dockerHost: env.info.dockerHost };
      const image = await buildHttpImage(engine, { tag: "e2e/web:amd64-only", version: "amd64 only" });
      const pushed = await pushImage(engine, image, env.info.registry, "local/web", "amd64-only");
      const ref = await digestRefOf(pushed);
      await setHost(0, { serverType: "cax11" });
      await editConfig(opts.cwd, (config) => {
        config["hcloud-deploy:apps"] = [
          { name: "web", hosts: ["local-1"], image: ref, port: 8080, hostPort: 8080 },
        ];
      });
      const result = await preview();
      await setHost(0, { serverType: undefined });
      await hostsOnly(opts);
      expect(result.code).not.toBe(0);
      expect(preflightLine("arm64 host, amd64 image", result.output, "error")).toBe(
        `app web: image ${ref} is linux/amd64 only; host local-1 (cax11) runs linux/arm64: push an index with every platform its hosts run (docker buildx build --platform linux/arm64 --push) or put web on hosts of its platform`,
      );
    }, 300_000);
  });

  describe("one app on an amd64 and an arm64 host", () => {
    let opts: Opts;

    /** One version of the app: an image per platform (with /cgi-bin/machine) and an index over them. */
    async function release(version: string): Promise<string> {
      const engine = { dockerHost: env.info.dockerHost };
      const refs: string[] = [];
      for (const platform of ["linux/amd64", "linux/arm64"] as const) {
        const arch = platform.split("/")[1];
        const image = await buildHttpImage(engine, {
          tag: `e2e/web:${version}-${arch}`,
          platform,
          version: `web ${version}`,
          machineCgi: true,
        });
        refs.push(
          await digestRefOf(
            await pushImage(engine, image, env.info.registry, "local/web", `${version}-${arch}`),
          ),
        );
      }
      return pushIndex(engine, env.info.registry, "local/web", version, refs);
    }

    const deployIndex = (index: string) =>
      editConfig(opts.cwd, (config) => {
        config["hcloud-deploy:apps"] = [
          {
            name: "web",
            hosts: ["local-1", "local-2"],
            image: index,
            port: 8080,
            hostPort: 8080,
            health: { path: "/" },
          },
        ];
      });

    /** Per host: its platform, what `uname -m` says in its container, and the digest it serves. */
    async function served(): Promise<{ host: string; platform: string; machine: string; digest: string }[]> {
      const platforms = await outputOf<Record<string, string>>("hostPlatforms");
      const hostApps = await outputOf<Record<string, { web: { image: string } }>>("hostApps");
      const web = await outputOf<Record<string, { host: string; url: string }[]>>("appEndpoints");
      return Promise.all(
        web.web.map(async ({ host, url }) => {
          const machine = await run("curl", [
            "-sS",
            "-g",
            "--max-time",
            "10",
            new URL("cgi-bin/machine", url).href,
          ]);
          const image = hostApps[host].web.image;
          return {
            host,
            platform: platforms[host],
            machine: machine.stdout.trim(),
            digest: image.split("@")[1],
          };
        }),
      );
    }
    const outputOf = async <T>(name: string): Promise<T> =>
      JSON.parse(
        (await runCaptured(["stack", "output", "--stack", STACK, "--json", name], opts)).stdout,
      ) as T;

    test("each host runs its own platform's image, status shows it, and a redeploy drops no request", async () => {
      opts = await stackCopy((dir) => copyProject(ROOT, dir));
      await editConfig(opts.cwd, (config) => {
        config["hcloud-deploy:hosts"] = [
          { name: "local-1", location: "fsn1" },
          { name: "local-2", location: "nbg1", serverType: "cax11" },
        ];
      });
      const v1 = await release("v1");
      await deployIndex(v1);
      await pulumi(
        ["up", "--stack", STACK, "--yes", "--skip-preview", "--message", "v1 on x86 and arm"],
        opts,
      );
      const first = await served();
      for (const s of first) process.stdout.write(`arch: ${s.host} ${s.machine} serves ${s.digest}\n`);
      expect(first.map((s) => [s.host, s.platform, s.machine])).toEqual([
        ["local-1", "linux/amd64", "x86_64"],
        ["local-2", "linux/arm64", "aarch64"],
      ]);
      expect(new Set(first.map((s) => s.digest)).size).toBe(2);

      // status asks each host what it runs: the platform per host, each on its own digest, no drift.
      const status = await run(
        "bash",
        ["-c", 'cd "$0" && exec npx ts-node scripts/status.ts --stack "$1"', opts.cwd, STACK],
        { env: opts.env, check: false },
      );
      process.stdout.write(`arch: status:\n${status.stdout}`);
      expect([status.code, status.stderr]).toEqual([0, ""]);
      for (const s of first) {
        // Two hosts: each on the stack's private network, whose address status shows.
        expect(status.stdout).toMatch(
          new RegExp(`^${s.host}  \\[[0-9a-f:]+\\]  private 10\\.100\\.0\\.\\d+  ${s.platform}  disk: `, "m"),
        );
        expect(status.stdout).toContain(s.digest.slice(0, 19));
      }
      expect(status.stdout).toContain("stack local: no drift; 2 service(s) on 2 host(s)");

      const v2 = await release("v2");
      await deployIndex(v2);
      const targets = (await outputOf<Record<string, { url: string }[]>>("appEndpoints")).web.map((e) => ({
        url: e.url,
      }));
      const probe = startProbe("arm64: redeploy of web on an amd64 and an arm64 host (real engine)", targets);
      await pulumi(
        ["up", "--stack", STACK, "--yes", "--skip-preview", "--message", "v2 on x86 and arm"],
        opts,
      );
      const counts = await probe.stop();
      expect(counts.failed).toBe(0);
      const second = await served();
      for (const s of second) process.stdout.write(`arch: ${s.host} ${s.machine} serves ${s.digest}\n`);
      expect(second.map((s) => s.machine)).toEqual(["x86_64", "aarch64"]);
      expect(second.map((s) => s.digest).filter((d) => first.some((f) => f.digest === d))).toEqual([]);
      await destroyAll(opts);
    }, 1_200_000);
  });

  describe("a release command", () => {
    let opts: Opts;
    const engine = () => ({ dockerHost: env.info.dockerHost });
    async function version(name: string): Promise<string> {
      const image = await buildHttpImage(engine(), { tag: `e2e/api:${name}`, version: `api ${name}` });
      return digestRefOf(await pushImage(engine(), image, env.info.registry, "local/api", name));
    }
    const deployApi = (ref: string, command: string[]) =>
      editConfig(opts.cwd, (config) => {
        config["hcloud-deploy:apps"] = [
          {
            name: "api",
            hosts: ["local-1", "local-2"],
            image: ref,
            port: 8080,
            hostPort: 8080,
            health: { path: "/" },
            release: { command, timeoutSeconds: 30 },
          },
        ];
      });
    /** What `pulumi preview` would change of the release and the services (`same` left out). */
    async function planned(): Promise<Record<string, string[]>> {
      const preview = await runCaptured(["preview", "--stack", STACK, "--json", "--non-interactive"], opts);
      expect([preview.code, preview.code === 0 ? "" : preview.output]).toEqual([0, ""]);
      const steps = (JSON.parse(preview.stdout) as { steps?: { op: string; urn: string }[] }).steps ?? [];
      const ops: Record<string, string[]> = {};
      for (const step of steps) {
        const name = step.urn.split("::").pop() as string;
        if (step.op !== "same" && /^api-(release-run|on-local-\d-service-rollout)$/.test(name))
          (ops[name] ??= []).push(step.op);
      }
      return ops;
    }
    const up = (message: string) =>
      runCaptured(
        ["up", "--stack", STACK, "--yes", "--skip-preview", "--color", "never", "--message", message],
        opts,
      );
    const serving = async () => {
      const web = await outputOfStack<Record<string, { url: string }[]>>(opts, "appEndpoints");
      return Promise.all(
        web.api.map(async (e) => (await run("curl", ["-sS", "-g", "--max-time", "5", e.url])).stdout),
      );
    };

    test("runs once per new image, on one host, before the rollouts; a failing one rolls nothing", async () => {
      opts = await stackCopy((dir) => copyProject(ROOT, dir));
      const migrate = ["/bin/busybox", "sh", "-c", "echo migrating to $APP_VERSION"];
      const [v1, v2, v3] = [await version("v1"), await version("v2"), await version("v3")];
      await deployApi(v1, migrate);
      const first = await up("v1 with its migration");
      expect([first.code, first.code === 0 ? "" : first.output]).toEqual([0, ""]);
      const runs = (output: string) =>
        output.split("\n").filter((l) => l.includes("running release command")).length;
      process.stdout.write(`release: first up: ${runs(first.output)} run(s)\n`);
      expect(runs(first.output)).toBe(1);

      // Nothing changed: the preview plans nothing for it, and an up runs nothing.
      expect(await planned()).toEqual({});
      const noop = await up("no change");
      process.stdout.write(`release: no-op up: ${runs(noop.output)} run(s)\n`);
      expect([noop.code, runs(noop.output)]).toEqual([0, 0]);

      // A new image: the preview shows the release replaced with the rollouts; it runs once, for both hosts.
      await deployApi(v2, migrate);
      const plan = await planned();
      process.stdout.write(`release: preview of a new image: ${JSON.stringify(plan)}\n`);
      expect(Object.keys(plan).sort()).toEqual([
        "api-on-local-1-service-rollout",
        "api-on-local-2-service-rollout",
        "api-release-run",
      ]);
      for (const ops of Object.values(plan)) expect(ops).toContain("replace");
      const second = await up("v2");
      process.stdout.write(`release: new image: ${runs(second.output)} run(s)\n`);
      expect([second.code, runs(second.output)]).toEqual([0, 1]);
      expect(await serving()).toEqual(["api v2", "api v2"]);

      // A migration that fails: the deploy stops with its output and line, and no host rolls.
      await deployApi(v3, ["/bin/busybox", "sh", "-c", "echo relation users already exists >&2; exit 1"]);
      const failed = await up("v3 with a failing migration");
      const line = failed.output.split("\n").find((l) => /release command .* exited with status/.test(l));
      process.stdout.write(`release: failing migration: exit ${failed.code}: ${line?.trim()}\n`);
      expect(failed.code).not.toBe(0);
      expect(line).toContain("exited with status 1");
      expect(failed.output).toContain("relation users already exists");
      expect(await serving()).toEqual(["api v2", "api v2"]);
      await destroyAll(opts);
    }, 1_200_000);
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
      await destroyAll(opts);
    }, 1_200_000);
  });
});
