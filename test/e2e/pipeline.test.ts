// The real Pulumi engine end to end on the `local` stack: Hetzner API emulator, simulated IPv6-only
// hosts, local registry. Runs on a copy of the project so the working tree stays untouched, with its
// own ports and host names so a running `npm run local:up` is not disturbed. Needs root and a `pulumi`
// on PATH (scripts/test-all.sh puts the toolchain there); without one the suite is skipped, saying why.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { run } from "../../local/exec";
import { startProbe } from "../integration/probe";
import { answers, endpoints, probeTargets } from "./endpoints";
import { describeWithEngine, runCaptured as runPulumi } from "./engine";
import { rowsAcross } from "../support/rows";
import { LOCAL_DEFAULTS, LocalEnv, startLocalEnv } from "../../local/environment";
import { HARNESS_STATE_ROOT } from "../../local/dockerd";
import { api, waitForHealth } from "../integration/lbSupport";
import {
  buildLocalImage,
  copyProject,
  LocalApp,
  localApps,
  pinImages,
  pulumi,
  pulumiEnv,
  pulumiOutput,
  selectStackOn,
} from "../../local/stack";

const ROOT = path.resolve(__dirname, "../..");
const STACK = "local";
const API_PORT = 25488;
const REGISTRY_PORT = 5001;

const describeE2e = describeWithEngine("e2e");
// The committed local stack has no load balancer; HCD_E2E_LOAD_BALANCER=1 puts web behind one.
const withLoadBalancer = process.env.HCD_E2E_LOAD_BALANCER === "1";
const testLoadBalancer = withLoadBalancer ? test : test.skip;
if (!withLoadBalancer) process.stderr.write("e2e: load balancer step SKIPPED: set HCD_E2E_LOAD_BALANCER=1\n");

let work: string;
let env: LocalEnv;
let opts: { cwd: string; env: NodeJS.ProcessEnv };
let apps: LocalApp[];

async function buildAndPin(names: string[]): Promise<Record<string, string>> {
  const refs: Record<string, string> = {};
  for (const app of apps.filter((a) => names.includes(a.name)))
    refs[app.name] = await buildLocalImage(work, app, env.info);
  await pinImages(STACK, refs, opts);
  return refs;
}

async function setSite(app: string, body: string): Promise<void> {
  await writeFile(path.join(work, "apps", app, "www", "index.html"), body);
}

/** Bytes sent from the root namespace to every simulated host of this run so far. */
async function bytesToHosts(): Promise<number> {
  const links = (await run("ls", ["/sys/class/net"])).stdout.split("\n").filter((l) => l.startsWith("hcd-e"));
  let total = 0;
  for (const link of links)
    total += Number((await run("cat", [`/sys/class/net/${link}/statistics/tx_bytes`])).stdout);
  return total;
}

/** What each of an app's tarball deliveries printed in its last run, from the stack's state. */
async function deliveryLogs(app: string): Promise<Record<string, string>> {
  const state = JSON.parse(await pulumiOutput(["stack", "export", "--stack", STACK], opts));
  const resources = state.deployment.resources as { urn: string; outputs?: { stdout?: string } }[];
  return Object.fromEntries(
    resources
      .map((r) => [r.urn.split("::").pop() as string, r.outputs?.stdout ?? ""])
      .filter(
        ([name]) =>
          (name.startsWith(`${app}-on-`) && name.endsWith("-delivery-load")) ||
          name === `${app}-fan-out-ship`,
      ),
  );
}

function runCaptured(command: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: work, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (d: Buffer) => {
      output += d;
      process.stderr.write(d);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

describeE2e("the local stack on the real Pulumi engine", () => {
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), "hcd-e2e-"));
    await copyProject(ROOT, work);
    env = await startLocalEnv({
      dir: path.join(HARNESS_STATE_ROOT, "e2e"),
      apiPort: API_PORT,
      registryPort: REGISTRY_PORT,
      registryCredentials: LOCAL_DEFAULTS.registryCredentials,
      hostNamePrefix: "e",
      ipv6Pool: "fd5e:e2e0::/32",
      engineName: "e2e-deployer",
    });
    opts = { cwd: work, env: pulumiEnv(work, env.info) };
    await selectStackOn(STACK, env.info, opts);
    apps = localApps(path.join(work, `Pulumi.${STACK}.yaml`));
    if (withLoadBalancer) {
      expect(apps[0].name).toBe("web");
      await pulumi(
        ["config", "set", "--stack", STACK, "--path", "hcloud-deploy:apps[0].loadBalancer", "true"],
        opts,
      );
      // Behind the load balancer the hosts serve web over plain HTTP on its hostPort, which must not be
      // api's (8080, on local-2).
      await pulumi(
        ["config", "set", "--stack", STACK, "--path", "hcloud-deploy:apps[0].hostPort", "8081"],
        opts,
      );
    }
  }, 300_000);

  afterAll(async () => {
    await env?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  }, 120_000);

  test("pulumi up from empty: every app answers over IPv6 on every host", async () => {
    await setSite("web", "web v1");
    await setSite("api", "api v1");
    await buildAndPin(["web", "db", "api"]);
    await pulumi(["up", "--stack", STACK, "--yes", "--skip-preview", "--message", "e2e v1"], opts);
    const all = await endpoints(STACK, opts);
    expect(Object.keys(all).sort()).toEqual(["api", "db", "web"]);
    // The database has no route: api reaches it on local-2's apps' network.
    expect(all.db.map((e) => [e.host, e.url])).toEqual([["local-2", "db:5432"]]);
    delete all.db;
    // Behind a load balancer TLS ends there, and the hosts serve web over plain HTTP on its hostPort.
    const webUrl = withLoadBalancer
      ? expect.stringMatching(/^http:\/\/\[fd5e:e2e0:0:[0-9a-f]+::1\]:8081\/$/)
      : "https://web.hcd.test/";
    expect(all.web.map((e) => [e.host, e.url])).toEqual([
      ["local-1", webUrl],
      ["local-2", webUrl],
    ]);
    expect(all.api.map((e) => e.url)).toEqual([
      expect.stringMatching(/^http:\/\/\[fd5e:e2e0:0:[0-9a-f]+::1\]:8080\/$/),
    ]);
    for (const [app, list] of Object.entries(all)) {
      for (const e of list) expect([e.host, e.url, await answers(e)]).toEqual([e.host, e.url, `${app} v1`]);
    }
  }, 600_000);

  testLoadBalancer(
    "web answers through its load balancer's IPv6 once both targets pass the health check",
    async () => {
      const lbs = JSON.parse(
        await pulumiOutput(["stack", "output", "--stack", STACK, "--json", "appLoadBalancers"], opts),
      );
      expect(Object.keys(lbs)).toEqual(["web"]);
      // web has a domain: HTTPS at the load balancer, with the certificate the emulator issued.
      expect(lbs.web.url).toBe("https://web.hcd.test/");
      const certificates = await api(env.info.hcloudEndpoint, "GET", "/certificates");
      const caFile = path.join(work, "lb-ca.crt");
      await writeFile(caFile, certificates.body.certificates[0].certificate);
      const viaLb = { host: "load balancer", url: lbs.web.url, address: lbs.web.ipv6, caFile };
      const lbList = await api(env.info.hcloudEndpoint, "GET", "/load_balancers");
      const [lb] = lbList.body.load_balancers as { id: number; targets: { server: { id: number } }[] }[];
      // New targets receive traffic after their first passing check (every 15 s by default).
      const healthy = Object.fromEntries(lb.targets.map((t) => [t.server.id, "healthy"]));
      expect(Object.keys(healthy)).toHaveLength(2);
      await waitForHealth(env.info.hcloudEndpoint, lb.id, healthy, 60_000);
      for (let i = 0; i < 10; i++) expect(await answers(viaLb)).toBe("web v1");
    },
    120_000,
  );

  test("preview --expect-no-changes passes right after", async () => {
    await pulumi(["preview", "--stack", STACK, "--expect-no-changes"], opts);
  }, 300_000);

  test("a change to one app previews only that app's delivery and service resources, then deploys", async () => {
    await setSite("web", "web v2");
    await buildAndPin(["web"]);
    const preview = JSON.parse(await pulumiOutput(["preview", "--stack", STACK, "--json"], opts));
    const changed = (preview.steps as { op: string; urn: string }[]).filter((s) => s.op !== "same");
    const names = [...new Set(changed.map((s) => s.urn.split("::").pop() as string))].sort();
    expect(names).toEqual([
      "web-fan-out-ship",
      "web-on-local-1-delivery-load",
      "web-on-local-1-service-rollout",
      "web-on-local-2-delivery-load",
      "web-on-local-2-service-rollout",
    ]);
    const probe = startProbe("e2e: one-app change", probeTargets(await endpoints(STACK, opts)), {
      ratePerTarget: 20,
    });
    await pulumi(["up", "--stack", STACK, "--yes", "--skip-preview", "--message", "e2e web v2"], opts);
    const counts = await probe.stop();
    const all = await endpoints(STACK, opts);
    for (const e of all.web) expect([e.host, await answers(e)]).toEqual([e.host, "web v2"]);
    expect(await answers(all.api[0])).toBe("api v1");
    expect(counts.failures).toEqual([]);
    expect(counts.failed).toBe(0);
  }, 600_000);

  test("rollback to the previous version serves the old image without rebuilding or re-sending it", async () => {
    const history = JSON.parse(await pulumiOutput(["stack", "history", "--stack", STACK, "--json"], opts));
    const v1 = history.length - (history as { message: string }[]).findIndex((h) => h.message === "e2e v1");
    // Sorted: images created in the same second come out in either order.
    const images = async () =>
      (await run("docker", ["images", "-q"], { env: opts.env })).stdout.split("\n").sort();
    const imagesBefore = await images();
    const targets = probeTargets(await endpoints(STACK, opts));
    // What the probe itself sends to the hosts per request, measured alone for 3 s.
    const quietBefore = await bytesToHosts();
    const calibration = startProbe("e2e: calibration", targets, { ratePerTarget: 20, maxDurationMs: 3000 });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const calibrated = await calibration.stop();
    const perRequest = ((await bytesToHosts()) - quietBefore) / calibrated.sent;
    const sentBefore = await bytesToHosts();

    const probe = startProbe("e2e: rollback", targets, { ratePerTarget: 20 });
    const rollback = await runCaptured(process.execPath, [
      "-r",
      "ts-node/register/transpile-only",
      "scripts/rollback.ts",
      "--stack",
      STACK,
      "--to",
      String(v1),
    ]);
    const counts = await probe.stop();
    expect(rollback.code).toBe(0);
    expect(counts.failures).toEqual([]);
    expect(counts.failed).toBe(0);

    const all = await endpoints(STACK, opts);
    for (const e of all.web) expect([e.host, await answers(e)]).toEqual([e.host, "web v1"]);
    expect(await answers(all.api[0])).toBe("api v1");
    // Both hosts still had web v1: the deliveries only asked them, nothing was pulled, built or sent.
    const logs = await deliveryLogs("web");
    expect(Object.keys(logs).sort()).toEqual([
      "web-fan-out-ship",
      "web-on-local-1-delivery-load",
      "web-on-local-2-delivery-load",
    ]);
    for (const [name, log] of Object.entries(logs)) {
      const lines = log.split("\n");
      expect([name, lines.length]).toEqual([name, name === "web-fan-out-ship" ? 2 : 1]);
      for (const line of lines)
        expect([name, line]).toEqual([
          name,
          expect.stringMatching(/already on the host; nothing transferred$/),
        ]);
    }
    expect(await images()).toEqual(imagesBefore);
    // Without the probe's own requests, SSH handshakes and probes only: no image went to a host.
    const sent = (await bytesToHosts()) - sentBefore - counts.sent * perRequest;
    process.stderr.write(
      `e2e: rollback sent ${Math.round(sent / 1024)} KiB to the hosts besides the probe\n`,
    );
    expect(sent).toBeLessThan(256 * 1024);
    const pins = parse(
      await pulumiOutput(["config", "get", "--stack", STACK, "--path", "hcloud-deploy:imagePins"], opts),
    );
    expect(Object.keys(pins).sort()).toEqual(["api", "db", "web"]);
  }, 600_000);

  test("web → api → PostgreSQL on local-2: a redeploy of api keeps every row, its migration runs once", async () => {
    const web2 = (await endpoints(STACK, opts)).web.find((e) => e.host === "local-2")!;
    const notes = async (query = "") => {
      const body = await answers({ ...web2, url: `https://web.hcd.test/cgi-bin/notes${query}` });
      const count = /^\{"notes":(\d+)\}\n$/.exec(body)?.[1];
      if (count === undefined) throw new Error(`web's /cgi-bin/notes answered: ${body}`);
      return Number(count);
    };
    const store = {
      count: () => notes(),
      add: async (n: number) => {
        for (let i = 0; i < n; i++) await notes("?add");
      },
    };
    await setSite("api", "api v3");
    await buildAndPin(["api"]);
    let output = "";
    const probe = startProbe("e2e: a redeploy of api", probeTargets(await endpoints(STACK, opts)), {
      ratePerTarget: 20,
    });
    const [before, after] = await rowsAcross(store, "a redeploy of api", async () => {
      const up = await runPulumi(
        ["up", "--stack", STACK, "--yes", "--skip-preview", "--message", "e2e api v3"],
        opts,
      );
      expect([up.code, up.code === 0 ? "" : up.output]).toEqual([0, ""]);
      output = up.output;
    });
    const counts = await probe.stop();
    expect(after).toBe(before);
    expect(counts.failures).toEqual([]);
    // The new image's migration ran once (api has one host), and finished before api rolled.
    const runs = output.split("\n").filter((l) => l.includes("running release command"));
    process.stdout.write(`release: a redeploy of api: ${runs.length} run(s)\n`);
    expect(runs).toHaveLength(1);
    expect(output.indexOf("release command passed")).toBeGreaterThan(-1);
    expect(output.indexOf("release command passed")).toBeLessThan(
      output.indexOf("api-on-local-2-service-rollout"),
    );
    expect(await answers((await endpoints(STACK, opts)).api[0])).toBe("api v3");
  }, 600_000);

  test("web on local-1 calls api on local-2 as api.internal over the private network, also once local-2 is replaced", async () => {
    const notesFrom = async (host: string) => {
      const web = (await endpoints(STACK, opts)).web.find((e) => e.host === host)!;
      return answers({ ...web, url: `${web.url}cgi-bin/notes` });
    };
    const output = async (name: string) =>
      JSON.parse(await pulumiOutput(["stack", "output", "--stack", STACK, "--json", name], opts));
    const privateIps = () => output("hostPrivateIps");
    const servers = await output("serverIds");
    const before = await privateIps();
    expect(Object.keys(before)).toEqual(["local-1", "local-2"]);
    expect(await notesFrom("local-1")).toMatch(/^\{"notes":\d+\}\n$/);
    process.stdout.write(
      `internal: web@local-1 → api.internal ok (api on local-2 at ${before["local-2"]})\n`,
    );

    await pulumi(
      ["config", "set", "--stack", STACK, "--path", "hcloud-deploy:hosts[1].generation", "2"],
      opts,
    );
    const up = await runPulumi(
      ["up", "--stack", STACK, "--yes", "--skip-preview", "--message", "e2e replace local-2"],
      opts,
    );
    expect([up.code, up.code === 0 ? "" : up.output]).toEqual([0, ""]);
    const replaced = await output("serverIds");
    expect([replaced["local-1"], replaced["local-2"] !== servers["local-2"]]).toEqual([
      servers["local-1"],
      true,
    ]);
    const after = await privateIps();
    expect(after["local-1"]).toBe(before["local-1"]);
    expect(await notesFrom("local-1")).toMatch(/^\{"notes":\d+\}\n$/);
    process.stdout.write(
      `internal: web@local-1 → api.internal ok (local-2 replaced, api at ${after["local-2"]})\n`,
    );
  }, 900_000);

  test("refresh shows no drift", async () => {
    await pulumi(["refresh", "--stack", STACK, "--yes", "--expect-no-changes"], opts);
  }, 300_000);

  test("destroy leaves no server, network or load balancer in the emulator and no namespace", async () => {
    await pulumi(["destroy", "--stack", STACK, "--yes", "--skip-preview"], opts);
    const state = (await (
      await fetch(env.info.hcloudEndpoint.replace(/\/v1$/, "/__emulator/state"))
    ).json()) as {
      servers: unknown[];
      loadBalancers: unknown[];
      networks: unknown[];
    };
    expect([state.servers, state.loadBalancers, state.networks]).toEqual([[], [], []]);
    const namespaces = (await run("ip", ["netns", "list"])).stdout;
    expect(namespaces.split("\n").filter((n) => n.startsWith("hcd-e"))).toEqual([]);
  }, 300_000);
});
