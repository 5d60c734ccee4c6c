// Replicas behind the host proxy on a simulated IPv6-only host, with the very scripts `pulumi up` runs:
// three containers take turns answering, a rollout of all three drops no request, a stopped replica
// costs no request either, and a lower count removes the extras. Needs root and setup-machine.sh.
import { startProbe } from "./probe";
import {
  proxyAdmin,
  rollout,
  serviceSpec,
  ServingRig,
  setUpProxy,
  startServingRig,
  stopServingRig,
  viaProxy,
} from "./serving";

let rig: ServingRig;
const spec = (ref: string, replicas: number) =>
  serviceSpec(rig.host, "web", ref, {
    replicas,
    health: { path: "/", timeoutSeconds: 20, intervalSeconds: 1 },
  });

/** The app's containers on the host, by name, with their state. */
async function containers(): Promise<string[]> {
  const ps = await rig.host.sim.exec(
    "docker ps -a --filter label=hcloud-deploy.app=web --format '{{.Names}} {{.State}}'",
  );
  return ps.stdout.trim().split("\n").filter(Boolean).sort();
}

/** Which containers answered `count` requests through the proxy, by host name (container ID). */
async function answeredBy(count: number): Promise<Set<string>> {
  const names = new Set<string>();
  for (let i = 0; i < count; i++) names.add(await viaProxy(rig.host, 8080, "/cgi-bin/hostname"));
  return names;
}

beforeAll(async () => {
  rig = await startServingRig(
    "web",
    { name: "it-repl", address: "fd5e:0:0:c1::1" },
    {
      v1: { version: "web v1", hostnameCgi: true, slowRequestSeconds: 3 },
      v2: { version: "web v2", hostnameCgi: true, slowRequestSeconds: 3 },
    },
  );
  expect((await setUpProxy(rig.host)).code).toBe(0);
}, 300_000);

afterAll(() => stopServingRig(rig), 120_000);

test("three replicas start, all pass their check, and the proxy balances across them", async () => {
  const result = await rollout(rig.host, spec(rig.refs.v1, 3));
  expect([result.code, result.stderr]).toEqual([0, ""]);
  expect(result.stdout).toContain("(3 replicas)");
  expect(result.stdout).toMatch(/revision \S+ serving on port 8080 through the proxy, 3 replicas\n$/);
  expect(await containers()).toEqual(["web running", "web_2 running", "web_3 running"]);
  const answered = await answeredBy(12);
  process.stdout.write(`replicas: web ${answered.size} on ${rig.host.sim.name}\n`);
  expect(answered.size).toBe(3);
  const route = await proxyAdmin(rig.host, "/id/hcloud-deploy-web-proxy/load_balancing/selection_policy");
  expect(route.trim()).toBe('{"policy":"round_robin"}');
}, 120_000);

test("a rollout of all three replicas drops no request, and one in flight finishes on the old version", async () => {
  const probe = startProbe("replicas: rollout of 3", [{ url: `http://[${rig.host.address}]:8080/` }]);
  const slow = viaProxy(rig.host, 8080, "/cgi-bin/slow?4");
  await new Promise((r) => setTimeout(r, 500));
  const result = await rollout(rig.host, spec(rig.refs.v2, 3));
  const counts = await probe.stop();
  expect([result.code, result.stderr]).toEqual([0, ""]);
  expect([counts.failed, counts.failures]).toEqual([0, []]);
  expect(await slow).toBe("slow web v1");
  expect(await viaProxy(rig.host)).toBe("web v2");
  expect(await containers()).toEqual(["web running", "web_2 running", "web_3 running"]);
  expect((await answeredBy(12)).size).toBe(3);
}, 180_000);

test("a stopped replica costs no request: the proxy retries another and leaves it out", async () => {
  await rig.host.sim.exec("docker stop --time 1 web_2");
  const probe = startProbe("replicas: one of 3 stopped", [{ url: `http://[${rig.host.address}]:8080/` }], {
    maxDurationMs: 5000,
  });
  await new Promise((r) => setTimeout(r, 5000));
  const counts = await probe.stop();
  expect([counts.failed, counts.failures]).toEqual([0, []]);
  expect((await answeredBy(9)).size).toBe(2);
  // The next rollout of the same revision finds one missing and rolls all three again.
  const again = await rollout(rig.host, spec(rig.refs.v2, 3));
  expect([again.code, again.stderr]).toEqual([0, ""]);
  expect(await containers()).toEqual(["web running", "web_2 running", "web_3 running"]);
}, 180_000);

test("a lower count rolls to fewer containers and removes the extras", async () => {
  const probe = startProbe("replicas: 3 to 1", [{ url: `http://[${rig.host.address}]:8080/` }]);
  const result = await rollout(rig.host, spec(rig.refs.v2, 1));
  const counts = await probe.stop();
  expect([result.code, result.stderr]).toEqual([0, ""]);
  expect([counts.failed, counts.failures]).toEqual([0, []]);
  expect(await containers()).toEqual(["web running"]);
  const route = await proxyAdmin(rig.host, "/id/hcloud-deploy-web-proxy/load_balancing/selection_policy");
  expect(route.trim()).toBe('{"policy":"first"}');
  const upstreams = JSON.parse(await proxyAdmin(rig.host, "/id/hcloud-deploy-web-proxy/upstreams"));
  expect(upstreams).toHaveLength(1);
}, 180_000);
