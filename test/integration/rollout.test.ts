// Rollouts behind the host proxy on a simulated IPv6-only host, with the very scripts `pulumi up` runs:
// no request fails across a redeploy, a rollback and a slow-starting version; an unhealthy version never
// takes traffic; a request in flight finishes before its version stops. Needs root and setup-machine.sh.
import { APP_NETWORK, hostTagOf } from "../../components/shell/prelude";
import { DockerEngine, startDockerEngine } from "../../local/dockerd";
import { delay, run } from "../../local/exec";
import { LocalRegistry, startRegistry } from "../../local/registry";
import { stopAllSimHosts } from "../../local/simhost";
import { startProbe } from "./probe";
import { deliver, proxyAdmin, pushVariants, rollout, serviceSpec, setUpProxy, viaProxy } from "./serving";
import { startTestHost, TestHost } from "./support";

let registry: LocalRegistry;
let deployer: DockerEngine;
let host: TestHost;
let refs: Record<string, string>;

const spec = (ref: string) => serviceSpec(host, "web", ref);

/** A rollout with the probe running against the proxy the whole time. */
async function probedRollout(name: string, ref: string) {
  const probe = startProbe(name, [{ url: `http://[${host.address}]:8080/` }]);
  const result = await rollout(host, spec(ref));
  const counts = await probe.stop();
  return { result, counts };
}

beforeAll(async () => {
  registry = await startRegistry();
  deployer = await startDockerEngine({ name: "it-rollout", insecureRegistries: [registry.host] });
  host = await startTestHost("it-roll", "fd5e:0:0:f3::1", [registry.host]);
  refs = await pushVariants(deployer, registry, "web", {
    v1: { version: "web v1", slowRequestSeconds: 3 },
    v2: { version: "web v2", slowRequestSeconds: 3 },
    slow: { version: "web slow", startDelaySeconds: 3 },
    broken: { version: "broken", port: 9999 },
  });
  for (const ref of Object.values(refs)) await deliver(deployer, registry, host, "web", ref);
}, 300_000);

afterAll(async () => {
  await stopAllSimHosts();
  await deployer?.stop();
  await registry?.stop();
}, 120_000);

test("the host setup installs the proxy with its admin API on a unix socket only, and is idempotent", async () => {
  const first = await setUpProxy(host);
  expect([first.code, first.stderr]).toEqual([0, ""]);
  expect(first.stdout).toContain(
    "hcloud-deploy: proxy on it-roll: ready: 2.6.2, admin API on /run/caddy/admin.sock, network hcloud-deploy\n-----BEGIN CERTIFICATE-----\n",
  );
  const again = await setUpProxy(host);
  expect([again.code, again.stderr]).toEqual([0, ""]);
  expect(again.stdout).not.toContain("applying Docker's settings");
  const listeners = (await host.sim.exec("ss -Hltnp | grep caddy || true")).stdout;
  expect(listeners).toBe("");
  expect(await proxyAdmin(host, "/config/admin")).toBe('{"listen":"unix//run/caddy/admin.sock"}\n');
});

test("first rollout: the app answers through the proxy and publishes no port itself", async () => {
  const result = await rollout(host, spec(refs.v1), "GREETING=hello\n");
  expect([result.code, result.stderr]).toEqual([0, ""]);
  expect(result.stdout).toMatch(
    /hcloud-deploy: web on it-roll: revision \S+ serving on port 8080 through the proxy\n$/,
  );
  expect(await viaProxy(host)).toBe("web v1");
  const container = await host.sim.exec(
    `docker inspect --format '{{json .HostConfig.PortBindings}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}' web`,
  );
  expect(container.stdout.trim()).toBe(`{} ${APP_NETWORK.name}`);
});

test("the same rollout again changes nothing", async () => {
  const again = await rollout(host, spec(refs.v1), "GREETING=hello\n");
  expect(again.code).toBe(0);
  expect(again.stdout).toMatch(/revision \S+ already running\n$/);
});

test("(a) a redeploy drops no request", async () => {
  const { result, counts } = await probedRollout("(a) redeploy", refs.v2);
  expect([result.code, result.stderr]).toEqual([0, ""]);
  expect(counts.failures).toEqual([]);
  expect(counts.failed).toBe(0);
  expect(await viaProxy(host)).toBe("web v2");
});

test("(b) a rollback drops no request", async () => {
  const { result, counts } = await probedRollout("(b) rollback", refs.v1);
  expect([result.code, result.stderr]).toEqual([0, ""]);
  expect(counts.failures).toEqual([]);
  expect(counts.failed).toBe(0);
  expect(await viaProxy(host)).toBe("web v1");
});

test("(c) a version that takes 3 s to start drops no request", async () => {
  const { result, counts } = await probedRollout("(c) slow start", refs.slow);
  expect([result.code, result.stderr]).toEqual([0, ""]);
  expect(counts.failures).toEqual([]);
  expect(counts.failed).toBe(0);
  expect(await viaProxy(host)).toBe("web slow");
});

test("a request in flight at the switch finishes on the old version, then it stops", async () => {
  await rollout(host, spec(refs.v1));
  const inFlight = viaProxy(host, 8080, "/cgi-bin/slow");
  await new Promise((resolve) => setTimeout(resolve, 500));
  const result = await rollout(host, spec(refs.v2));
  expect([result.code, result.stderr]).toEqual([0, ""]);
  expect(await inFlight).toBe("slow web v1");
  const names = await host.sim.exec("docker ps -a --format '{{.Names}}'");
  expect(names.stdout.trim()).toBe("web");
});

test("an unhealthy version never takes traffic; the old one keeps serving", async () => {
  const { result, counts } = await probedRollout("unhealthy version", refs.broken);
  expect(result.code).toBe(1);
  expect(result.stderr.trimEnd().split("\n").pop()).toBe(
    "hcloud-deploy: web on it-roll: health check GET / on port 8080 did not pass within 10s (HTTP 000); the previous version keeps serving",
  );
  expect(result.stdout).not.toContain("serving on");
  expect(counts.failed).toBe(0);
  expect(await viaProxy(host)).toBe("web v2");
  const names = await host.sim.exec("docker ps -a --format '{{.Names}}'");
  expect(names.stdout.trim()).toBe("web");
});

test("the drain is bounded: after drainSeconds the old version stops with what it still has", async () => {
  await rollout(host, spec(refs.v1));
  // 8 s: far longer than the rollout takes to reach the end of its drain, even on a loaded machine; curl
  // waits longer still, so only the stop can keep it from the full answer.
  const slow = run(
    "curl",
    ["-sS", "-g", "--max-time", "30", `http://[${host.address}]:8080/cgi-bin/slow?8`],
    {
      check: false,
    },
  ).then((r) => r.stdout);
  await delay(300);
  const result = await rollout(host, { ...spec(refs.v2), drainSeconds: 1 });
  expect([result.code, result.stderr]).toEqual([0, ""]);
  expect(result.stdout).toContain(
    "hcloud-deploy: web on it-roll: drain: 1 request(s) still in flight to the old version after 1s; stopping it anyway\n",
  );
  expect(await slow).not.toBe("slow web v1");
  expect(await viaProxy(host)).toBe("web v2");
});

test("a rollout cut off during its drain is finished by the next one, dropping nothing", async () => {
  await rollout(host, spec(refs.v1));
  const slow = viaProxy(host, 8080, "/cgi-bin/slow");
  await delay(300);
  const probe = startProbe("cut-off rollout, then the next one", [{ url: `http://[${host.address}]:8080/` }]);
  const first = rollout(host, spec(refs.v2));
  // The switch is done (the new version serves, the old one sits in the draining handler), and the
  // drain waits for the slow request.
  let draining = "";
  for (let i = 0; i < 100 && !draining.includes('"dial"'); i++) {
    await delay(100);
    draining = await proxyAdmin(host, "/id/hcloud-deploy-web/handle/1/upstreams");
  }
  expect(draining).toMatch(/^\[\{"dial":"[0-9.]+:8080"\}\]\n$/);
  expect(await proxyAdmin(host, "/id/hcloud-deploy-web-proxy/upstreams")).toMatch(
    /^\[\{"dial":"[0-9.]+:8080"\}\]\n$/,
  );
  // The host side of the rollout dies (the deployer's SSH session with it).
  await host.sim.exec("pkill -KILL -f '^sh -c set -eu' || true");
  expect((await first).code).not.toBe(0);
  await slow;
  const next = await rollout(host, spec(refs.v2));
  const counts = await probe.stop();
  expect([next.code, next.stderr]).toEqual([0, ""]);
  expect(counts.failed).toBe(0);
  expect(await viaProxy(host)).toBe("web v2");
  expect((await host.sim.exec("docker ps -a --format '{{.Names}}'")).stdout.trim()).toBe("web");
  expect(await proxyAdmin(host, "/id/hcloud-deploy-web-proxy/upstreams")).toMatch(
    /^\[\{"dial":"[0-9.]+:8080"\}\]\n$/,
  );
});

test("removal: only the deployment that runs the container takes it and its route away", async () => {
  const stale = await rollout(host, spec(refs.v1), "", "delete");
  expect(stale.stdout).toContain("started by another deployment; left in place");
  expect(await viaProxy(host)).toBe("web v2");
  const removed = await rollout(host, spec(refs.v2), "", "delete");
  expect([removed.code, removed.stdout]).toEqual([
    0,
    "hcloud-deploy: web on it-roll: removed, with its proxy route\n",
  ]);
  expect((await host.sim.exec("docker ps -aq")).stdout).toBe("");
  expect(await proxyAdmin(host, "/config/apps/http/servers")).toBe("{}\n");
  expect(
    (await run("curl", ["-sg", "--max-time", "2", `http://[${host.address}]:8080/`], { check: false })).code,
  ).toBe(7);
});

test("an app named like the start of another container's ID: its rollouts and removal leave that container alone", async () => {
  // Docker takes a name it does not know as an ID prefix; a bystander whose ID starts with a letter
  // gives an app name (4 hex digits, so a valid app name) that such a lookup would resolve to it.
  let bystander = "";
  for (let i = 0; !/^[a-f]/.test(bystander); i++) {
    if (bystander) await host.sim.exec(`docker rm -f ${bystander}`);
    const started = await host.sim.exec(`docker run -d --name bystander-${i} ${hostTagOf("web", refs.v1)}`);
    expect([started.code, started.stderr]).toEqual([0, ""]);
    bystander = started.stdout.trim();
  }
  const app = bystander.slice(0, 4);
  expect(
    (await host.sim.exec(`docker tag ${hostTagOf("web", refs.v2)} ${hostTagOf(app, refs.v2)}`)).code,
  ).toBe(0);
  const bystanderRunning = async () =>
    (await host.sim.exec(`docker inspect --format '{{.State.Running}}' ${bystander}`)).stdout.trim();
  for (const strategy of ["recreate", "overlap"] as const) {
    const named = serviceSpec(host, app, refs.v2, { hostPort: 8090, strategy });
    const first = await rollout(host, named);
    expect([strategy, first.code, first.stderr]).toEqual([strategy, 0, ""]);
    expect(await viaProxy(host, 8090)).toBe("web v2");
    expect(await bystanderRunning()).toBe("true");
    const removed = await rollout(host, named, "", "delete");
    expect([removed.code, removed.stderr]).toEqual([0, ""]);
    expect(removed.stdout).toContain("removed, with its proxy route");
    expect(await bystanderRunning()).toBe("true");
  }
  await host.sim.exec(`docker rm -f ${bystander}`);
});

test("a hostPort removed from the config: the route goes, the running container stays", async () => {
  const routed = await rollout(host, spec(refs.v1));
  expect([routed.code, routed.stderr]).toEqual([0, ""]);
  const id = async () => (await host.sim.exec("docker inspect --format '{{.Id}}' web")).stdout.trim();
  const before = await id();
  const unrouted = await rollout(host, { ...spec(refs.v1), hostPort: undefined }, "", "update");
  expect([unrouted.code, unrouted.stderr]).toEqual([0, ""]);
  expect(unrouted.stdout).toMatch(/revision \S+ already running; its proxy route was updated\n$/);
  expect(await id()).toBe(before);
  expect(await proxyAdmin(host, "/config/apps/http/servers")).toBe("{}\n");
  expect(
    (await run("curl", ["-sg", "--max-time", "2", `http://[${host.address}]:8080/`], { check: false })).code,
  ).toBe(7);
  const removed = await rollout(host, { ...spec(refs.v1), hostPort: undefined }, "", "delete");
  expect([removed.code, removed.stderr]).toEqual([0, ""]);
});
