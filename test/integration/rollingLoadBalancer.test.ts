// Case (d) of the serving guarantees: a rolling redeploy of an app on two hosts, one host at a time as
// the Service dependencies order it, with live traffic through a load balancer the emulator built as the
// hcloud provider asks for it. The hosts run the real proxy and the very rollout scripts `pulumi up` runs.
// Needs root, haproxy, caddy and the machine lock.
import { renderCloudInit } from "../../components/cloudInit";
import { generateEd25519KeyPair } from "../../components/sshKeys";
import { RunningEmulator } from "../../local/emulator/emulator";
import { SimHost } from "../../local/simhost";
import { api, probe, startLbEmulator, waitForHealth } from "./lbSupport";
import { startProbe } from "./probe";
import { rollout, serviceSpec, setUpProxy } from "./serving";
import { deployerKey, releaseOnHost, TestHost } from "./support";
import { TEST_HOST_IMAGE } from "../support/hostRelease";

const PREFIX = "lbr";
const PORT = 8080;

let emulator: RunningEmulator;
let sims: Map<string, SimHost>;
const hosts: TestHost[] = [];
const serverIds: number[] = [];
const releases: Record<"v1" | "v2", string>[] = [];
let lbAddress = "";

/** A server through the API, as HetznerHost creates it: the deployer's key, a pinned host key. */
async function server(name: string, location: string, sshKeyId: number): Promise<TestHost> {
  const hostKey = generateEd25519KeyPair(name);
  const userData = renderCloudInit({ hostKey, generation: 1, dns64Servers: [], tls: { issuer: "internal" } });
  const res = await api(emulator.endpoint, "POST", "/servers", {
    name,
    server_type: "cx23",
    image: TEST_HOST_IMAGE,
    location,
    user_data: userData,
    ssh_keys: [sshKeyId],
    public_net: { enable_ipv4: false, enable_ipv6: true },
  });
  if (res.status !== 201) throw new Error(`server ${name}: ${JSON.stringify(res.body)}`);
  serverIds.push(res.body.server.id);
  const sim = sims.get(`${PREFIX}${res.body.server.id}`)!;
  const target = { address: sim.address, port: 22, user: "root", hostKey: hostKey.publicKey };
  return { sim, address: sim.address, hostKey: hostKey.publicKey, target };
}

/** The service of `version` on host i; its image is the tag releaseOnHost gave it (the digest's hex). */
const spec = (host: TestHost, version: "v1" | "v2", i: number) =>
  serviceSpec(host, "web", `registry.test/web@sha256:${releases[i][version].split(":").pop()}`, {
    hostPort: PORT,
    drainSeconds: 2,
    instance: version,
  });

beforeAll(async () => {
  ({ emulator, hosts: sims } = await startLbEmulator(PREFIX, "fd5e:1c00::/32"));
  const key = await api(emulator.endpoint, "POST", "/ssh_keys", {
    name: "deployer",
    public_key: deployerKey.publicKey,
  });
  if (key.status !== 201) throw new Error(`ssh key: ${JSON.stringify(key.body)}`);
  for (const [name, location] of [
    ["web-a", "fsn1"],
    ["web-b", "nbg1"],
  ]) {
    hosts.push(await server(name, location, key.body.ssh_key.id));
    // Each host's app answers with the server's name and its version.
    releases.push({
      v1: await releaseOnHost(hosts.at(-1)!, "web", `${name} v1`),
      v2: await releaseOnHost(hosts.at(-1)!, "web", `${name} v2`),
    });
  }
  for (const [i, host] of hosts.entries()) {
    const proxy = await setUpProxy(host);
    if (proxy.code !== 0) throw new Error(`proxy setup on ${host.sim.name}: ${proxy.stderr}`);
    const started = await rollout(host, spec(host, "v1", i));
    if (started.code !== 0) throw new Error(`v1 on ${host.sim.name}: ${started.stderr}`);
  }

  // The load balancer as components/loadBalancer.ts declares it: a private network, private targets,
  // an HTTP service with a health check on the app's health path.
  const network = await api(emulator.endpoint, "POST", "/networks", {
    name: "web-lb",
    ip_range: "10.0.0.0/16",
  });
  const networkId = network.body.network.id;
  await api(emulator.endpoint, "POST", `/networks/${networkId}/actions/add_subnet`, {
    type: "cloud",
    ip_range: "10.0.0.0/24",
    network_zone: "eu-central",
  });
  const lb = await api(emulator.endpoint, "POST", "/load_balancers", {
    name: "web-lb",
    load_balancer_type: "lb11",
    location: "fsn1",
  });
  const lbId = lb.body.load_balancer.id;
  lbAddress = lb.body.load_balancer.public_net.ipv6.ip;
  for (const path of [`/load_balancers/${lbId}`, ...serverIds.map((id) => `/servers/${id}`)]) {
    const res = await api(emulator.endpoint, "POST", `${path}/actions/attach_to_network`, {
      network: networkId,
      ip_range: "10.0.0.0/24",
    });
    if (res.body.action?.status !== "success") throw new Error(`attach ${path}: ${JSON.stringify(res.body)}`);
  }
  await api(emulator.endpoint, "POST", `/load_balancers/${lbId}/actions/add_service`, {
    protocol: "http",
    listen_port: 80,
    destination_port: PORT,
    health_check: {
      protocol: "http",
      port: PORT,
      interval: 1,
      timeout: 1,
      retries: 2,
      http: { domain: "", path: "/", response: "", tls: false, status_codes: ["2??", "3??"] },
    },
  });
  for (const id of serverIds) {
    await api(emulator.endpoint, "POST", `/load_balancers/${lbId}/actions/add_target`, {
      type: "server",
      server: { id },
      use_private_ip: true,
    });
  }
  await waitForHealth(emulator.endpoint, lbId, Object.fromEntries(serverIds.map((id) => [id, "healthy"])));
}, 300_000);

afterAll(async () => {
  await emulator?.close();
}, 120_000);

test("(d) a rolling redeploy of two hosts through the load balancer drops no request", async () => {
  const before = await probe(`http://[${lbAddress}]:80/`, 20);
  expect([before.failed, Object.keys(before.bodies).sort()]).toEqual([0, ["web-a v1", "web-b v1"]]);

  // 25 requests/s per host, as the load balancer spreads them over two.
  const load = startProbe(
    "(d) rolling redeploy of 2 hosts through the load balancer",
    [{ url: `http://[${lbAddress}]:80/` }],
    { ratePerTarget: 50 },
  );
  const results = [];
  // One host at a time: the second Service depends on the first (hostsAtOnce 1).
  for (const [i, host] of hosts.entries()) results.push(await rollout(host, spec(host, "v2", i)));
  const counts = await load.stop();

  expect(results.map((r) => [r.code, r.stderr])).toEqual([
    [0, ""],
    [0, ""],
  ]);
  expect([counts.failed, counts.failures]).toEqual([0, []]);
  expect(counts.sent).toBeGreaterThan(100);
  const after = await probe(`http://[${lbAddress}]:80/`, 20);
  expect([after.failed, Object.keys(after.bodies).sort()]).toEqual([0, ["web-a v2", "web-b v2"]]);
}, 300_000);
