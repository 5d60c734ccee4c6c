// An existing host upgraded to the host proxy, on a simulated host: the app that published its port
// itself keeps answering while Docker's settings change, the proxy takes its port over, and the old
// service resource's delete (the script in existing stacks' state) leaves the new container alone.
// Needs root and setup-machine.sh.
import { DockerEngine, startDockerEngine } from "../../local/dockerd";
import { LocalRegistry, startRegistry } from "../../local/registry";
import { stopAllSimHosts } from "../../local/simhost";
import { serviceRemoveScript, serviceScript } from "./fixtures/legacyService";
import { startProbe } from "./probe";
import { deliver, pushVariants, rollout, serviceSpec, setUpProxy, viaProxy } from "./serving";
import { runOnHost, startTestHost, TestHost } from "./support";

let registry: LocalRegistry;
let deployer: DockerEngine;
let host: TestHost;
let refs: Record<string, string>;

beforeAll(async () => {
  registry = await startRegistry();
  deployer = await startDockerEngine({ name: "it-upgrade", insecureRegistries: [registry.host] });
  host = await startTestHost("it-upg", "fd5e:0:0:f4::1", [registry.host]);
  refs = await pushVariants(deployer, registry, "web", {
    v1: { version: "web v1" },
    v2: { version: "web v2" },
  });
  for (const ref of Object.values(refs)) await deliver(deployer, registry, host, "web", ref);
}, 300_000);

afterAll(async () => {
  await stopAllSimHosts();
  await deployer?.stop();
  await registry?.stop();
}, 120_000);

test("an app started by the service script before the proxy serves on its published port", async () => {
  const legacy = { ...serviceSpec(host, "web", refs.v1), instance: "legacy-instance" };
  const started = await runOnHost(host, serviceScript(legacy), "");
  expect([started.code, started.stderr]).toEqual([0, ""]);
  expect(await viaProxy(host)).toBe("web v1");
});

test("the host setup changes Docker's settings without restarting the running container", async () => {
  const startedAt = () => host.sim.exec("docker inspect --format '{{.State.StartedAt}}' web");
  const before = (await startedAt()).stdout;
  const probe = startProbe("upgrade: host setup", [{ url: `http://[${host.address}]:8080/` }]);
  const setup = await setUpProxy(host);
  const counts = await probe.stop();
  expect([setup.code, setup.stderr]).toEqual([0, ""]);
  expect(setup.stdout).toContain("applying Docker's settings (live-restore, IPv6 NAT)");
  expect((await startedAt()).stdout).toBe(before);
  const live = await host.sim.exec("docker info --format '{{.LiveRestoreEnabled}}'");
  expect(live.stdout.trim()).toBe("true");
  expect(await viaProxy(host)).toBe("web v1");
  // A port the container publishes itself is reached over IPv6 through docker-proxy, which restarts
  // with dockerd: the one gap an upgrade costs before the proxy takes over.
  process.stderr.write(
    `upgrade: ${counts.failed} of ${counts.sent} requests failed while dockerd restarted\n`,
  );
});

test("the first rollout takes the port over from the old container", async () => {
  const probe = startProbe("upgrade: first rollout", [{ url: `http://[${host.address}]:8080/` }]);
  const result = await rollout(host, serviceSpec(host, "web", refs.v2));
  const counts = await probe.stop();
  expect([result.code, result.stderr]).toEqual([0, ""]);
  expect(result.stdout).toContain("the running container publishes its port itself");
  expect(await viaProxy(host)).toBe("web v2");
  // The one gap of an upgrade: the old container lets go of the port before the proxy can bind it.
  process.stderr.write(
    `upgrade: ${counts.failed} of ${counts.sent} requests failed during the port takeover\n`,
  );
});

test("the old service resource's delete leaves the new container in place", async () => {
  const legacy = { ...serviceSpec(host, "web", refs.v1), instance: "legacy-instance" };
  const deleted = await runOnHost(host, serviceRemoveScript(legacy));
  expect([deleted.code, deleted.stdout]).toEqual([
    0,
    "hcloud-deploy: web was started by another deployment; left in place\n",
  ]);
  expect(await viaProxy(host)).toBe("web v2");
  const names = await host.sim.exec("docker ps -a --format '{{.Names}}'");
  expect(names.stdout.trim()).toBe("web");
});
