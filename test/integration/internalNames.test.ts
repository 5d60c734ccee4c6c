// <app>.internal across simulated IPv6-only hosts joined by a private network, with the very scripts
// `pulumi up` runs: web on one host calls api on another through api's host proxy over the private
// network, and again once api's host is replaced by one with another private address; a capture on the
// hosts' public interfaces sees none of that traffic while one on the private interfaces sees all of it.
// Exec and jobs copy the names into their one-off containers. Needs root and setup-machine.sh.
import { ChildProcess, spawn } from "node:child_process";
import { internalHostsOf } from "../../config/internalNames";
import { HostConfig } from "../../config/types";
import { APP_NETWORK } from "../../components/shell/prelude";
import { DockerEngine, startDockerEngine } from "../../local/dockerd";
import { delay } from "../../local/exec";
import { SimNetwork, startSimNetwork } from "../../local/privateNetwork";
import { stopAllSimHosts } from "../../local/simhost";
import { LocalRegistry, startRegistry } from "../../local/registry";
import { runExec } from "../../ops/exec";
import { deliver, pushVariants, rollout, serviceSpec, setUpProxy } from "./serving";
import { deployerKey, startTestHost, TestHost } from "./support";

const PRIVATE_IF = "priv0";
let registry: LocalRegistry;
let deployer: DockerEngine;
let network: SimNetwork;
let refs: Record<string, string>;
const hosts: Record<string, TestHost> = {};
const privateIps: Record<string, string> = {
  "int-a": "10.100.0.2",
  "int-b": "10.100.0.3",
  "int-c": "10.100.0.7",
};
const sameZone: HostConfig[] = ["int-a", "int-b", "int-c", "int-d"].map((name) => ({
  name,
  location: "fsn1",
  generation: 1,
  dns64Servers: [],
}));

/** A capture of api's port on one interface of a host, counting packets until stopped. */
function capture(host: TestHost, iface: string): { stop(): Promise<string[]>; ready: Promise<void> } {
  const child: ChildProcess = spawn(
    "ip",
    ["netns", "exec", host.sim.netns, "tcpdump", "-i", iface, "-nn", "-l", "-q", "tcp port 8080"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const lines: string[] = [];
  child.stdout?.on("data", (chunk: Buffer) => lines.push(...chunk.toString().split("\n").filter(Boolean)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr?.on("data", (chunk: Buffer) => chunk.toString().includes("listening on") && resolve());
    child.on("exit", (code) => reject(new Error(`tcpdump on ${iface} of ${host.sim.name} exited ${code}`)));
  });
  return {
    ready,
    async stop() {
      // tcpdump -l flushes per packet; a moment lets the last lines through before it stops.
      await delay(500);
      child.kill("SIGINT");
      await new Promise((r) => child.once("close", r));
      return lines;
    },
  };
}

/**
 * The body of GET / from `address` (a name or IP) on 8080 as web's container on `host` gets it, over busybox
 * nc (its wget crashes here). Stdin stays open a moment: a client that half-closes at once has Caddy
 * cancel the request.
 */
async function getFromWeb(host: TestHost, address: string): Promise<string> {
  const request = `{ printf 'GET / HTTP/1.0\\r\\nHost: ${address}:8080\\r\\n\\r\\n'; sleep 1; } | /bin/busybox timeout 5 /bin/busybox nc ${address} 8080`;
  const result = await host.sim.exec(`docker exec web /bin/busybox sh -c ${JSON.stringify(request)}`);
  return result.stdout.split(/\r?\n\r?\n/)[1]?.trim() ?? `no answer: ${result.stderr}`;
}

const callApi = (host: TestHost) => getFromWeb(host, "api.internal");

/** Rolls web on int-a with the names internalHostsOf gives it while api runs on `apiHosts`. */
async function rollWeb(apiHosts: string[]) {
  const apps = [
    { name: "web", hosts: ["int-a"], hostPort: 8080 },
    { name: "api", hosts: apiHosts, hostPort: 8080 },
  ];
  const live = Object.fromEntries(apiHosts.concat("int-a").map((h) => [h, privateIps[h]]));
  const internalHosts = internalHostsOf("web", "int-a", apps, sameZone, live);
  const result = await rollout(
    hosts["int-a"],
    serviceSpec(hosts["int-a"], "web", refs.web, { internalHosts }),
  );
  expect([result.code, result.stderr]).toEqual([0, ""]);
  return internalHosts;
}

async function startApiOn(name: string, address: string) {
  hosts[name] = await startTestHost(name, address, [registry.host]);
  await deliver(deployer, registry, hosts[name], "api", refs.api);
  expect((await setUpProxy(hosts[name])).code).toBe(0);
  const served = await rollout(hosts[name], serviceSpec(hosts[name], "api", refs.api));
  expect([served.code, served.stderr]).toEqual([0, ""]);
}

async function plug(names: string[]) {
  await network.apply(
    names.map((n) => ({ key: n.replace("-", ""), netns: hosts[n].sim.netns, ip: privateIps[n] })),
  );
}

beforeAll(async () => {
  registry = await startRegistry();
  deployer = await startDockerEngine({ name: "int-deployer", insecureRegistries: [registry.host] });
  refs = {
    ...(await pushVariants(deployer, registry, "web", { web: { version: "web v1" } })),
    ...(await pushVariants(deployer, registry, "api", { api: { version: "api v1" } })),
  };
  hosts["int-a"] = await startTestHost("int-a", "fd5e:0:0:d1::1", [registry.host]);
  await deliver(deployer, registry, hosts["int-a"], "web", refs.web);
  expect((await setUpProxy(hosts["int-a"])).code).toBe(0);
  await startApiOn("int-b", "fd5e:0:0:d2::1");
  network = await startSimNetwork({ name: "int-net", ipRange: "10.100.0.0/16", interfaceName: PRIVATE_IF });
  await plug(["int-a", "int-b"]);
}, 400_000);

afterAll(async () => {
  await stopAllSimHosts();
  await network?.stop();
  await deployer?.stop();
  await registry?.stop();
}, 120_000);

test("web on int-a reaches api on int-b as api.internal, over the private network only", async () => {
  expect(await rollWeb(["int-b"])).toEqual({ "api.internal": ["10.100.0.3"] });
  const hostsFile = await hosts["int-a"].sim.exec("docker exec web /bin/busybox cat /etc/hosts");
  expect(hostsFile.stdout).toContain("10.100.0.3\tapi.internal\n");

  const captures = [
    ["int-a public", capture(hosts["int-a"], "eth0")],
    ["int-b public", capture(hosts["int-b"], "eth0")],
    ["int-a private", capture(hosts["int-a"], PRIVATE_IF)],
    ["int-b private", capture(hosts["int-b"], PRIVATE_IF)],
  ] as const;
  await Promise.all(captures.map(([, c]) => c.ready));
  const answers = [];
  for (let i = 0; i < 5; i++) answers.push(await callApi(hosts["int-a"]));
  const seen: Record<string, string[]> = Object.fromEntries(
    await Promise.all(captures.map(async ([name, c]) => [name, await c.stop()] as const)),
  );

  expect(answers).toEqual(Array(5).fill("api v1"));
  process.stdout.write(`internal: web@int-a → api.internal ok\n`);
  process.stdout.write(
    `capture: ${Object.entries(seen)
      .map(([name, lines]) => `${name} ${lines.length} packets`)
      .join(", ")}\n`,
  );
  expect([seen["int-a public"], seen["int-b public"]]).toEqual([[], []]);
  // Five connections of a handful of packets each, from int-a's private address (Docker masquerades
  // the container's) to int-b's.
  expect(seen["int-b private"].length).toBeGreaterThanOrEqual(5 * 4);
  expect(
    seen["int-b private"].every((line) =>
      /10\.100\.0\.2\.\d+ > 10\.100\.0\.3\.8080|10\.100\.0\.3\.8080 > 10\.100\.0\.2\.\d+/.test(line),
    ),
  ).toBe(true);
  expect(seen["int-a private"].length).toBe(seen["int-b private"].length);
}, 120_000);

test("once api's host is replaced by one with another private address, web's next rollout follows it", async () => {
  await hosts["int-b"].sim.stop();
  await startApiOn("int-c", "fd5e:0:0:d3::1");
  await plug(["int-a", "int-c"]);
  // Before web rolls, its name still points at the gone host.
  expect(await callApi(hosts["int-a"])).toMatch(/^no answer/);
  expect(await rollWeb(["int-c"])).toEqual({ "api.internal": ["10.100.0.7"] });
  const publicSide = capture(hosts["int-c"], "eth0");
  await publicSide.ready;
  expect(await callApi(hosts["int-a"])).toBe("api v1");
  expect(await publicSide.stop()).toEqual([]);
  process.stdout.write(`internal: web@int-a → api.internal ok (api's host replaced, now 10.100.0.7)\n`);
}, 300_000);

test("a replacement that gets the same private address (the old one left first) is reached at once", async () => {
  await hosts["int-c"].sim.stop();
  privateIps["int-d"] = privateIps["int-c"];
  await startApiOn("int-d", "fd5e:0:0:d4::1");
  await plug(["int-a", "int-d"]);
  // web's names did not change, so nothing rolls it: the address leads to the new host straight away.
  expect(await callApi(hosts["int-a"])).toBe("api v1");
  process.stdout.write(`internal: web@int-a → api.internal ok (api's host replaced, same address)\n`);
}, 300_000);

test("a one-off container of web (exec --new) resolves the same names as web", async () => {
  const result = await runExec(
    { hostName: "int-a", target: hosts["int-a"].target },
    { app: "web", fresh: true, command: ["/bin/busybox", "grep", "api.internal", "/etc/hosts"] },
    deployerKey.privateKey,
    { mode: "pipe", input: "" },
  );
  expect([result.code, result.stdout.trim()]).toEqual([0, "10.100.0.7\tapi.internal"]);
}, 60_000);

test("on its own host an app's name goes to the host's proxy on the apps' network", async () => {
  const apps = [
    { name: "web", hosts: ["int-a"], hostPort: 8080 },
    { name: "api", hosts: ["int-a", "int-d"], hostPort: 8080 },
  ];
  expect(internalHostsOf("web", "int-a", apps, sameZone, privateIps)).toEqual({
    "api.internal": [APP_NETWORK.ipv4Gateway, "10.100.0.7"],
  });
  // web itself answers on int-a's proxy at the apps' network address, as api would there.
  expect(await getFromWeb(hosts["int-a"], APP_NETWORK.ipv4Gateway)).toBe("web v1");
}, 60_000);
