// An app built from a pinned commit of another repository, through the real Pulumi engine, the emulator and
// a simulated host: the repository is on this machine (file://). The local stack builds the commit's tree
// (as CI does), the engine deploys it; a new commit on the branch is taken by the bump script, and the next
// up serves it with no request dropped; a commit the repository lacks stops the preview in one line. Prints
// `source: <app> built from <commit>`. Needs root and a `pulumi` on PATH; without one it is skipped.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse, stringify } from "yaml";
import { HARNESS_STATE_ROOT } from "../../local/dockerd";
import { LOCAL_DEFAULTS, LocalEnv, startLocalEnv } from "../../local/environment";
import { run } from "../../local/exec";
import {
  buildLocalImage,
  copyProject,
  localApps,
  pinImages,
  pulumiEnv,
  selectStackOn,
} from "../../local/stack";
import { startProbe } from "../integration/probe";
import { describeWithEngine, runCaptured } from "./engine";

const ROOT = path.resolve(__dirname, "../..");
const STACK = "local";
const describeE2e = describeWithEngine("e2e sources");

let env: LocalEnv;
let opts: { cwd: string; env: NodeJS.ProcessEnv };
let dir: string;
let repo: string;

const sh = (cmd: string, cwd: string) => execFileSync("sh", ["-c", cmd], { cwd, encoding: "utf8" }).trim();
const stackFile = () => path.join(dir, `Pulumi.${STACK}.yaml`);

/** A commit of the billing repository whose site says `page`. */
async function commit(page: string): Promise<string> {
  // What a real build would use; the local stack stands in for it offline with busybox httpd on www/.
  await writeFile(
    path.join(repo, "Dockerfile"),
    'FROM busybox\nCOPY www /www\nCMD ["httpd", "-f", "-h", "/www"]\n',
  );
  await writeFile(path.join(repo, "www", "index.html"), page);
  sh(`git add -A && git commit -qm '${page}'`, repo);
  return sh("git rev-parse HEAD", repo);
}

/** What `npm run local:up` does for a built app: the offline build of its commit, then the pin. */
async function buildAndPin(): Promise<string> {
  const [app] = localApps(stackFile());
  const ref = await buildLocalImage(dir, app, env.info);
  await pinImages(STACK, { billing: ref }, opts);
  process.stdout.write(`source: billing built from ${app.git?.commit}\n`);
  return app.git?.commit ?? "";
}

async function up(message: string): Promise<void> {
  const result = await runCaptured(
    ["up", "--stack", STACK, "--yes", "--skip-preview", "--message", message],
    opts,
  );
  expect([result.code, result.code === 0 ? "" : result.output]).toEqual([0, ""]);
}

async function page(): Promise<string> {
  const out = await runCaptured(["stack", "output", "--stack", STACK, "--json", "appUrls"], opts);
  const [url] = (JSON.parse(out.stdout) as Record<string, string[]>).billing;
  return (await run("curl", ["-sS", "-g", "--max-time", "5", url], { check: false })).stdout.trim();
}

describeE2e("an app built from another repository, on the real engine", () => {
  let first: string;

  beforeAll(async () => {
    const state = path.join(HARNESS_STATE_ROOT, "e2e-sources");
    await rm(state, { recursive: true, force: true });
    env = await startLocalEnv({
      dir: state,
      apiPort: 25492,
      registryPort: 5005,
      registryCredentials: LOCAL_DEFAULTS.registryCredentials,
      hostNamePrefix: "b",
      ipv6Pool: "fd5e:e2e4::/32",
      engineName: "e2e-sources-deployer",
    });
    dir = await mkdtemp(path.join(tmpdir(), "hcd-e2e-sources-"));
    await copyProject(ROOT, dir);
    opts = { cwd: dir, env: { ...pulumiEnv(dir, env.info), HCLOUD_DEPLOY_CACHE: path.join(dir, ".cache") } };
    repo = path.join(dir, "billing-repo");
    await mkdir(path.join(repo, "www"), { recursive: true });
    sh("git init -q -b main && git config user.email t@t && git config user.name t", repo);
    first = await commit("billing v1");
    await commit("billing v2, not deployed yet");
    const doc = parse(await readFile(stackFile(), "utf8"));
    delete doc.config["hcloud-deploy:appSecrets"];
    delete doc.config["hcloud-deploy:imagePins"];
    doc.config["hcloud-deploy:apps"] = [
      {
        name: "billing",
        hosts: ["local-1"],
        build: { git: `file://${repo}`, commit: first },
        port: 8080,
        hostPort: 8080,
        health: { path: "/", timeoutSeconds: 30, intervalSeconds: 1 },
      },
    ];
    await writeFile(stackFile(), stringify(doc));
    await selectStackOn(STACK, env.info, opts);
  }, 600_000);

  afterAll(async () => {
    await env?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  test("the pinned commit is built and served, not the branch's newer one", async () => {
    expect(await buildAndPin()).toBe(first);
    expect(existsSync(path.join(dir, ".sources", first, "www", "index.html"))).toBe(true);
    await up("billing at its first commit");
    expect(await page()).toBe("billing v1");
  }, 600_000);

  test("the bump script moves the pin to the branch's head; the next up serves it, dropping nothing", async () => {
    const head = await commit("billing v3");
    const bumped = await run(
      "bash",
      ["-c", 'cd "$0" && exec npx ts-node scripts/bump-sources.ts --stack "$1" --write', dir, STACK],
      { env: opts.env },
    );
    expect(bumped.stdout.trim()).toBe(
      `bump: billing ${first.slice(0, 12)} → ${head.slice(0, 12)} (file://${repo} main)`,
    );
    expect(await buildAndPin()).toBe(head);
    const out = await runCaptured(["stack", "output", "--stack", STACK, "--json", "appUrls"], opts);
    const probe = startProbe("e2e: a bumped source", [{ url: JSON.parse(out.stdout).billing[0] }]);
    await up("billing bumped");
    const counts = await probe.stop();
    expect(counts.failed).toBe(0);
    expect(await page()).toBe("billing v3");
  }, 600_000);

  test("a commit the repository lacks stops the preview in one line, before anything", async () => {
    const missing = "f".repeat(40);
    const text = await readFile(stackFile(), "utf8");
    const doc = parse(text);
    doc.config["hcloud-deploy:apps"][0].build.commit = missing;
    delete doc.config["hcloud-deploy:imagePins"];
    await writeFile(stackFile(), stringify(doc));
    try {
      // Unpinned, the program would build the app itself and push it: that needs a push token.
      const token = await runCaptured(
        ["config", "set", "--stack", STACK, "--secret", "hcloud-deploy:registryPushToken", "e2e-not-used"],
        opts,
      );
      expect(token.code).toBe(0);
      const preview = await runCaptured(["preview", "--stack", STACK], opts);
      expect(preview.code).not.toBe(0);
      expect(preview.output).toContain(
        `hcloud-deploy:apps[0].build.commit: ${missing} could not be fetched from file://${repo}`,
      );
    } finally {
      await writeFile(stackFile(), text);
    }
  }, 300_000);
});
