// The local stack's day 2 on the real Pulumi engine, typed exactly as the docs show it (npm run
// local:up in docs/local-stack.md, status and status --repair and logs in docs/operations.md, rollback in
// docs/rollback.md) with no Pulumi or Docker variables set, on a copy of
// the project whose local environment runs in this process with its own ports and host names. Also the
// secrets scan of what only a real deploy makes: stack state, argv during `pulumi up`, its output.
// Needs root and a `pulumi` on PATH; without one the suite is skipped, saying why.
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { LOCAL_DEFAULTS, LocalEnv, startLocalEnv } from "../../local/environment";
import { run } from "../../local/exec";
import { simHostDockerHost } from "../../local/simhost";
import { copyProject, pulumi, pulumiEnv, pulumiOutput, selectStackOn } from "../../local/stack";
import { answers, endpoints } from "../e2e/endpoints";
import { outcome, sampleArgv } from "./support";

const ROOT = path.resolve(__dirname, "../..");
const probe = spawnSync("pulumi", ["version"], { encoding: "utf8" });
const skipReason =
  probe.status === 0 ? undefined : "no working `pulumi` on PATH (scripts/pulumi-toolchain.sh)";
if (skipReason) process.stderr.write(`faults on the local stack SKIPPED: ${skipReason}\n`);
const describeEngine = skipReason ? describe.skip : describe;

let work: string;
let env: LocalEnv;
let opts: { cwd: string; env: NodeJS.ProcessEnv };

/** `npm run …` in the copy, as a user types it: none of the variables the ops code sets itself. */
function npmRun(args: string[]): Promise<{ code: number; output: string }> {
  const { PULUMI_BACKEND_URL: _b, PULUMI_CONFIG_PASSPHRASE: _p, DOCKER_HOST: _d, ...clean } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["run", ...args], {
      cwd: work,
      env: clean,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const collect = (d: Buffer) => (output += d.toString());
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

const get = async (url: string) =>
  (await run("curl", ["-sS", "-g", "--max-time", "5", url], { check: false })).stdout;
const outputs = async () =>
  JSON.parse(await pulumiOutput(["stack", "output", "--stack", "local", "--json"], opts));
const hostDocker = (simName: string, args: string[]) =>
  run("docker", args, {
    env: { ...process.env, DOCKER_HOST: simHostDockerHost(simName) },
  });

describeEngine("the local stack's day 2, as the docs show it", () => {
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "hcd-faults-"));
    await copyProject(ROOT, work);
    // Where local:up looks for a running environment: the copy's own .pulumi-local.
    env = await startLocalEnv({
      dir: path.join(work, ".pulumi-local"),
      apiPort: 25489,
      registryPort: 5003,
      registryCredentials: LOCAL_DEFAULTS.registryCredentials,
      hostNamePrefix: "g",
      ipv6Pool: "fd5e:fa17::/32",
      engineName: "faults-deployer",
    });
    opts = { cwd: work, env: pulumiEnv(work, env.info) };
    await selectStackOn("local", env.info, opts);
  }, 300_000);

  afterAll(async () => {
    await env?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  }, 120_000);

  test("local:up deploys; no secret in argv, stack state or output", async () => {
    const secrets = [
      (
        await pulumiOutput(
          ["config", "get", "--stack", "local", "--path", "hcloud-deploy:appSecrets.api.DATABASE_URL"],
          opts,
        )
      ).trim(),
      (
        await pulumiOutput(
          ["config", "get", "--stack", "local", "--path", "hcloud-deploy:appSecrets.db.POSTGRES_PASSWORD"],
          opts,
        )
      ).trim(),
      (
        await pulumiOutput(["config", "get", "--stack", "local", "hcloud-deploy:registryPullToken"], opts)
      ).trim(),
      (await pulumiOutput(["config", "get", "--stack", "local", "hcloud-deploy:sshPrivateKey"], opts)).split(
        "\n",
      )[2],
    ];
    const sampler = sampleArgv(200);
    const up = await npmRun(["local:up"]);
    const argv = await sampler.stop();
    expect([up.code, up.code === 0 ? "" : up.output.slice(-4000)]).toEqual([0, ""]);
    const state = await pulumiOutput(["stack", "export", "--stack", "local"], opts);
    const stateFiles = (
      await run(
        "grep",
        ["-rlsF", ...secrets.flatMap((s) => ["-e", s]), path.join(work, ".pulumi-local", "state")],
        { check: false },
      )
    ).stdout;
    for (const secret of secrets) {
      expect([
        secret.length > 8,
        argv.includes(secret),
        state.includes(secret),
        up.output.includes(secret),
      ]).toEqual([true, false, false, false]);
    }
    expect(stateFiles).toBe("");
    // The environment's own file holds the registry password (the pull token): its owner's only.
    expect(
      (await run("stat", ["-c", "%a", path.join(work, ".pulumi-local", "env.json")])).stdout.trim(),
    ).toBe("600");
    outcome(
      "secrets scan (stack state, argv during local:up, its output)",
      "none of DATABASE_URL, the pull token, the deploy key found",
    );
  }, 600_000);

  test("status: exit 0, every service as the stack wants it", async () => {
    const status = await npmRun(["status", "--", "--stack", "local"]);
    expect([status.code, status.output]).toEqual([
      0,
      expect.stringContaining("stack local: no drift; 4 service(s) on 2 host(s)"),
    ]);
  }, 300_000);

  test("a killed container: status exits 1 naming it; --repair brings it back in an audited version", async () => {
    const { serverIds, appUrls } = await outputs();
    const serving = await get(appUrls.api[0]);
    await hostDocker(`g${serverIds["local-2"]}`, ["kill", "api"]);
    const drifted = await npmRun(["status", "--", "--stack", "local"]);
    expect([drifted.code, drifted.output]).toEqual([
      1,
      expect.stringContaining("api on local-2: container exited (137)"),
    ]);
    const started = Date.now();
    const repaired = await npmRun(["status", "--", "--stack", "local", "--repair"]);
    expect([repaired.code, repaired.output]).toEqual([
      0,
      expect.stringMatching(/after the repair:[^]*no drift/),
    ]);
    const history = JSON.parse(await pulumiOutput(["stack", "history", "--stack", "local", "--json"], opts));
    expect(history[0].message).toBe("repair: api on local-2 (container exited (137))");
    expect([serving.length > 0, await get(appUrls.api[0])]).toEqual([true, serving]);
    await pulumi(["preview", "--stack", "local", "--expect-no-changes"], opts);
    outcome(
      "container killed on the local stack",
      `status exit 1; --repair: exit 0 after ${((Date.now() - started) / 1000).toFixed(0)} s, app serving`,
    );
  }, 600_000);

  test("a no-op local:up runs nothing on any host", async () => {
    const again = await npmRun(["local:up"]);
    expect(again.code).toBe(0);
    expect(again.output).not.toContain("hcloud-deploy: ");
    expect(again.output).toMatch(/Resources:\s+\d+ unchanged\s/);
  }, 600_000);

  test("logs: each host's lines, prefixed with the host", async () => {
    const logs = await npmRun(["logs", "--", "--stack", "local", "--app", "web", "--tail", "3"]);
    expect(logs.code).toBe(0);
    for (const host of ["local-1", "local-2"])
      expect(logs.output).toMatch(new RegExp(`^\\[${host}\\] \\d{4}-`, "m"));
  }, 300_000);

  test("exec: the command's exit status through npm; --new has the app's secret env, never in argv", async () => {
    const report = await npmRun(["exec", "--", "--stack", "local", "--app", "api", "--", "report"]);
    expect([report.code, report.output]).toEqual([0, expect.stringMatching(/^report: \d+ notes$/m)]);
    const three = await npmRun([
      "exec",
      "--",
      "--stack",
      "local",
      "--app",
      "web",
      "--host",
      "local-2",
      "--",
      "/bin/busybox",
      "sh",
      "-c",
      "exit 3",
    ]);
    expect(three.code).toBe(3);
    const url = (
      await pulumiOutput(
        ["config", "get", "--stack", "local", "--path", "hcloud-deploy:appSecrets.api.DATABASE_URL"],
        opts,
      )
    ).trim();
    const sampler = sampleArgv(200);
    const fresh = await npmRun([
      "exec",
      "--",
      "--stack",
      "local",
      "--app",
      "api",
      "--new",
      "--",
      "sh",
      "-c",
      "case $DATABASE_URL in postgresql://*) echo has-the-url ;; *) exit 9 ;; esac",
    ]);
    const argv = await sampler.stop();
    expect([fresh.code, fresh.output.includes("has-the-url")]).toEqual([0, true]);
    expect([url.length > 8, fresh.output.includes(url), argv.includes(url)]).toEqual([true, false, false]);
    outcome(
      "exec",
      "exit 0 and 3 came through npm; --new ran with DATABASE_URL set, never in argv or output",
    );
  }, 300_000);

  test("rollback --list/--to, then local:up keeps the pins until --roll-forward", async () => {
    const v1 = (await outputs()).appImages.web as string;
    await writeFile(path.join(work, "apps/web/www/index.html"), "web v2");
    expect((await npmRun(["local:up"])).code).toBe(0);
    // web answers over HTTPS for its domain at each host, trusting that host's proxy CA.
    const [web] = (await endpoints("local", opts)).web;
    expect(await answers(web)).toBe("web v2");

    const list = await npmRun(["rollback", "--", "--stack", "local", "--list"]);
    expect(list.code).toBe(0);
    const version = [...list.output.matchAll(/^ +(\d+) .*\n(?: {8}.*\n)*? {8}web {2}(\S+)$/gm)].find(
      (m) => m[2] === v1,
    )?.[1];
    expect(version).toMatch(/^\d+$/);
    const rolled = await npmRun(["rollback", "--", "--stack", "local", "--to", version!]);
    expect([rolled.code, rolled.output]).toEqual([
      0,
      expect.stringContaining("npm run local:up keeps these pins"),
    ]);
    expect(await answers(web)).toContain("hello from web");

    const kept = await npmRun(["local:up"]);
    expect([kept.code, kept.output]).toEqual([
      0,
      expect.stringContaining(`local: web stays on ${v1}: a rollback pinned it`),
    ]);
    expect(await answers(web)).toContain("hello from web");
    expect((await npmRun(["local:up", "--", "--roll-forward"])).code).toBe(0);
    expect(await answers(web)).toBe("web v2");
    expect(
      JSON.parse(await readFile(path.join(work, ".pulumi-local", "built-pins.json"), "utf8")).web,
    ).not.toBe(v1);
  }, 900_000);

  test("destroy", async () => {
    await pulumi(["destroy", "--stack", "local", "--yes", "--skip-preview"], opts);
  }, 300_000);
});
