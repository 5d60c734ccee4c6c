// An app on a Hetzner Volume through the real Pulumi engine, the emulator and a simulated host: its rows
// survive a redeploy (recreate, its unavailability measured by the probe), a full disk, a rollback to the
// first image and the host's replacement by a generation bump (the volume follows the host); removing the
// volume from config and `pulumi destroy` keep the Hetzner Volume, each saying so in one line. Prints
// `data: <case>: rows before N, after N` and `recreate: <app> unavailable for X s`. Needs root and a
// `pulumi` on PATH; without one it is skipped.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse, stringify } from "yaml";
import { run } from "../../local/exec";
import { LOCAL_DEFAULTS, LocalEnv, startLocalEnv } from "../../local/environment";
import { HARNESS_STATE_ROOT } from "../../local/dockerd";
import { buildHttpImage, pushImage } from "../../local/images";
import { copyProject, pulumiEnv, selectStackOn } from "../../local/stack";
import { startProbe } from "../integration/probe";
import { describeWithEngine, runCaptured } from "./engine";
import { rowsAcross } from "../support/rows";

const ROOT = path.resolve(__dirname, "../..");
const STACK = "local";
const TOKEN = "e".repeat(64);

const describeE2e = describeWithEngine("e2e volumes");

type Opts = { cwd: string; env: NodeJS.ProcessEnv };
let env: LocalEnv;
let opts: Opts;
let dir: string;

const pulumiRun = (args: string[]) => runCaptured(args, opts);

async function up(message: string): Promise<string> {
  const result = await pulumiRun([
    "up",
    "--stack",
    STACK,
    "--yes",
    "--skip-preview",
    "--color",
    "never",
    "--message",
    message,
  ]);
  expect([result.code, result.code === 0 ? "" : result.output]).toEqual([0, ""]);
  return result.output;
}

async function editConfig(edit: (config: Record<string, any>) => void): Promise<void> {
  const file = path.join(opts.cwd, `Pulumi.${STACK}.yaml`);
  const doc = parse(await readFile(file, "utf8"));
  edit(doc.config);
  await writeFile(file, stringify(doc));
}

/** The emulator's public API, as the provider calls it. */
async function api<T>(pathname: string, method = "GET"): Promise<T> {
  const res = await fetch(`${env.info.hcloudEndpoint}${pathname}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  if (!res.ok) throw new Error(`${method} ${pathname}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

type Volume = {
  id: number;
  name: string;
  size: number;
  server: number | null;
  labels: Record<string, string>;
};
const volumes = async () => (await api<{ volumes: Volume[] }>("/volumes")).volumes;
const serverOf = async (name: string) =>
  (await api<{ servers: { id: number; name: string }[] }>(`/servers?name=${name}`)).servers[0]?.id;

async function notesUrl(): Promise<string> {
  const result = await pulumiRun(["stack", "output", "--stack", STACK, "--json", "appEndpoints"]);
  return (JSON.parse(result.stdout) as Record<string, { url: string }[]>).notes[0].url;
}

async function get(urlPath: string): Promise<string> {
  const result = await run(
    "curl",
    ["-sS", "-g", "--max-time", "5", `${await notesUrl()}${urlPath.slice(1)}`],
    {
      check: false,
    },
  );
  return result.stdout.trim();
}
const rows = async () => Number(await get("/cgi-bin/rows"));
async function addRows(n: number): Promise<void> {
  for (let i = 0; i < n; i++) expect(await get("/cgi-bin/add")).toMatch(/^\d+$/);
}

/** Writes rows, then counts them around `event`; prints the data line and returns both counts. */
const acrossEvent = (name: string, event: () => Promise<unknown>) =>
  rowsAcross({ count: rows, add: addRows }, name, event);

async function image(version: string): Promise<string> {
  const engine = { dockerHost: env.info.dockerHost };
  const built = await buildHttpImage(engine, {
    tag: `e2e/notes:${version}`,
    version: `notes ${version}`,
    dataDir: "/data",
    user: "1000:1000",
  });
  const pushed = await pushImage(engine, built, env.info.registry, "local/notes", version);
  const inspect = await run("docker", ["image", "inspect", "--format", "{{index .RepoDigests 0}}", pushed], {
    env: { ...process.env, DOCKER_HOST: env.info.dockerHost },
  });
  return inspect.stdout.trim();
}

const notes = (ref: string, volumes: object[]) => ({
  name: "notes",
  hosts: ["local-1"],
  image: ref,
  port: 8080,
  hostPort: 8080,
  volumes,
  health: { path: "/", timeoutSeconds: 30, intervalSeconds: 1 },
});
const DATA = [{ name: "data", path: "/data", size: 10 }];

describeE2e("an app on a Hetzner Volume, on the real engine", () => {
  const refs: Record<string, string> = {};

  beforeAll(async () => {
    const state = path.join(HARNESS_STATE_ROOT, "e2e-volumes");
    await rm(state, { recursive: true, force: true });
    env = await startLocalEnv({
      dir: state,
      apiPort: 25491,
      registryPort: 5004,
      registryCredentials: LOCAL_DEFAULTS.registryCredentials,
      hostNamePrefix: "v",
      ipv6Pool: "fd5e:e2e3::/32",
      engineName: "e2e-volumes-deployer",
    });
    dir = await mkdtemp(path.join(tmpdir(), "hcd-e2e-volumes-"));
    await copyProject(ROOT, dir);
    opts = { cwd: dir, env: pulumiEnv(dir, env.info) };
    await selectStackOn(STACK, env.info, opts);
    refs.v1 = await image("v1");
    refs.v2 = await image("v2");
    await editConfig((config) => {
      delete config["hcloud-deploy:appSecrets"];
      delete config["hcloud-deploy:imagePins"];
      config["hcloud-deploy:apps"] = [notes(refs.v1, DATA)];
    });
  }, 600_000);

  afterAll(async () => {
    await env?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 120_000);

  test("the first up creates the volume in the host's location, attached and mounted", async () => {
    const output = await up("notes on a Hetzner Volume");
    const [volume] = await volumes();
    expect(volume).toMatchObject({ size: 10, server: await serverOf("local-1-local") });
    expect(volume.labels).toMatchObject({ app: "notes", volume: "data" });
    const mounted = output
      .split("\n")
      .find((l) => l.includes(`Hetzner Volume ${volume.id} (10 GB) mounted on`));
    process.stdout.write(`volume: first up: ${mounted?.trim()}\n`);
    expect(mounted).toContain("/var/lib/hcloud-deploy/volumes/notes/data");
    await addRows(2);
    expect(await rows()).toBe(2);
    // status asks the host about it: a mounted Hetzner Volume, no drift.
    const status = await run(
      "bash",
      ["-c", 'cd "$0" && exec npx ts-node scripts/status.ts --stack "$1"', opts.cwd, STACK],
      { env: opts.env, check: false },
    );
    process.stdout.write(`volume: status:\n${status.stdout}`);
    expect([status.code, status.stderr]).toEqual([0, ""]);
    expect(status.stdout).toMatch(
      /^ {4}notes volume data \(Hetzner Volume, 10 GB, mounted\): [\d.]+ GiB of [\d.]+ GiB used$/m,
    );
  }, 900_000);

  test("a redeploy recreates the app on the same data", async () => {
    const [before, after] = await acrossEvent("redeploy on a Hetzner Volume", async () => {
      const url = await notesUrl();
      const probe = startProbe("recreate on a Hetzner Volume (real engine)", [{ url }]);
      await editConfig((config) => (config["hcloud-deploy:apps"] = [notes(refs.v2, DATA)]));
      const output = await up("notes v2");
      const counts = await probe.stop();
      process.stdout.write(
        `recreate: notes unavailable for ${(counts.longestGapMs / 1000).toFixed(2)} s (real engine)\n`,
      );
      expect(output).toContain("recreate: stopping the running version first");
    });
    expect(after).toBe(before);
    expect(await get("/")).toBe("notes v2");
  }, 900_000);

  test("a rollback to the first image keeps every row", async () => {
    const [before, after] = await acrossEvent("rollback on a Hetzner Volume", async () => {
      await editConfig((config) => (config["hcloud-deploy:apps"] = [notes(refs.v1, DATA)]));
      await up("back to notes v1");
    });
    expect(after).toBe(before);
    expect(await get("/")).toBe("notes v1");
  }, 900_000);

  test("a reboot of the server: the volume is mounted again at boot, before Docker starts the app", async () => {
    const [before, after] = await acrossEvent("server rebooted (Hetzner Volume, fstab)", async () => {
      await api(`/servers/${await serverOf("local-1-local")}/actions/reset`, "POST");
      const deadline = Date.now() + 120_000;
      while (!/^\d+$/.test(await get("/cgi-bin/rows"))) {
        if (Date.now() > deadline) throw new Error("notes did not serve again within 2 minutes of the reset");
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    });
    expect(after).toBe(before);
  }, 300_000);

  test("the host replaced by a generation bump: the volume follows it, every row intact", async () => {
    const oldServer = await serverOf("local-1-local");
    const [before, after] = await acrossEvent("host replaced (generation bump, Hetzner Volume)", async () => {
      await editConfig((config) => (config["hcloud-deploy:hosts"][0].generation = 2));
      await up("replace local-1");
    });
    const newServer = await serverOf("local-1-local");
    expect(newServer).not.toBe(oldServer);
    expect((await volumes()).map((v) => v.server)).toEqual([newServer]);
    expect(after).toBe(before);
  }, 1_200_000);

  test("the volume removed from config: the Hetzner Volume is kept, detached, and the removal says so", async () => {
    const [volume] = await volumes();
    await editConfig((config) => (config["hcloud-deploy:apps"] = [notes(refs.v1, [])]));
    const output = await up("notes without its volume");
    const line = output.split("\n").find((l) => l.includes("is kept with its data"));
    process.stdout.write(`volume: removed from config: ${line?.trim()}\n`);
    expect(line).toContain(`Hetzner Volume ${volume.id} is kept with its data`);
    expect((await volumes()).map((v) => [v.id, v.server])).toEqual([[volume.id, null]]);
  }, 900_000);

  test("pulumi destroy keeps the volume of an app that still has one, in one line", async () => {
    // Put back, the volume is a new one: the kept one is no longer the stack's (import it to reuse it).
    await editConfig((config) => (config["hcloud-deploy:apps"] = [notes(refs.v1, DATA)]));
    await up("notes with a new volume");
    const kept = (await volumes()).map((v) => v.id);
    expect(kept.length).toBe(2);
    const result = await pulumiRun([
      "destroy",
      "--stack",
      STACK,
      "--yes",
      "--skip-preview",
      "--color",
      "never",
    ]);
    expect(result.code).toBe(0);
    const line = result.output.split("\n").find((l) => l.includes("is kept with its data"));
    process.stdout.write(`volume: pulumi destroy: ${line?.trim()}\n`);
    expect(line).toContain(`Hetzner Volume ${kept[1]} is kept with its data`);
    expect((await volumes()).map((v) => [v.id, v.server])).toEqual(kept.map((id) => [id, null]));
  }, 900_000);
});
