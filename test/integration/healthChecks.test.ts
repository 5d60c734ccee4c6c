// The three kinds of health check on a simulated host, with the very rollout script `pulumi up` runs:
// tcp (the app port accepts a connection) and command (a program run inside the new container exits 0)
// gate a rollout as http does — a version that fails its check never takes traffic, the old one keeps
// serving and the deploy fails in one line naming the check. Needs root and setup-machine.sh.
import type { HealthCheck } from "../../components/service";
import { startProbe } from "./probe";
import {
  rollout,
  serviceSpec,
  ServingRig,
  setUpProxy,
  startServingRig,
  stopServingRig,
  viaProxy,
} from "./serving";
import type { TestHost } from "./support";

let rig: ServingRig;
let host: TestHost;
let refs: Record<string, string>;

const tcp: HealthCheck = { type: "tcp", timeoutSeconds: 5, intervalSeconds: 1 };
const command = (...words: string[]): HealthCheck => ({
  type: "command",
  command: words,
  timeoutSeconds: 5,
  intervalSeconds: 1,
});

beforeAll(async () => {
  rig = await startServingRig(
    "web",
    { name: "it-health", address: "fd5e:0:0:f5::1" },
    {
      v1: { version: "web v1" },
      v2: { version: "web v2" },
      v3: { version: "web v3" },
      // httpd on another port: 8080 refuses connections.
      deaf: { version: "deaf", port: 9999 },
    },
  );
  ({ host, refs } = rig);
  expect((await setUpProxy(host)).code).toBe(0);
  // Something serving already, so the probe measures the switches.
  expect((await rollout(host, serviceSpec(host, "web", refs.v1))).code).toBe(0);
}, 300_000);

afterAll(() => stopServingRig(rig), 120_000);

/** A rollout of `ref` checked by `health`, with the probe on the proxy the whole time. */
async function probed(name: string, ref: string, health: HealthCheck) {
  const probe = startProbe(name, [{ url: `http://[${host.address}]:8080/` }]);
  const result = await rollout(host, serviceSpec(host, "web", ref, { health }));
  return { result, counts: await probe.stop() };
}

test.each([
  ["tcp", "v1", tcp, "web v1"],
  [
    "command",
    "v2",
    command("/bin/busybox", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"),
    "web v2",
  ],
])(
  "a %s check that passes lets the new version take over, dropping nothing",
  async (kind, version, health, page) => {
    const { result, counts } = await probed(`${kind} check passes`, refs[version], health);
    expect([result.code, result.stderr]).toEqual([0, ""]);
    expect(result.stdout).toMatch(/revision \S+ serving on port 8080 through the proxy\n$/);
    expect(counts.failures).toEqual([]);
    expect(counts.failed).toBe(0);
    expect(await viaProxy(host)).toBe(page);
  },
);

test.each([
  [
    "tcp",
    "deaf",
    tcp,
    "TCP connection to port 8080 did not pass within 5s (port 8080 refused the connection)",
  ],
  [
    "command",
    "v1",
    command("/bin/busybox", "sh", "-c", "echo not ready; exit 3"),
    "command /bin/busybox sh -c echo not ready; exit 3 in the container did not pass within 5s (exit 3: not ready)",
  ],
])(
  "a %s check that fails keeps the old version serving and fails in one line",
  async (kind, version, health, why) => {
    const { result, counts } = await probed(`${kind} check fails`, refs[version], health);
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split("\n").pop()).toBe(
      `hcloud-deploy: web on it-health: health check ${why}; the previous version keeps serving`,
    );
    expect(counts.failures).toEqual([]);
    expect(counts.failed).toBe(0);
    expect(await viaProxy(host)).toBe("web v2");
    expect((await host.sim.exec("docker ps -a --format '{{.Names}}'")).stdout.trim()).toBe("web");
  },
);
