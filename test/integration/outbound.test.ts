// Outbound network from inside an app container on a simulated IPv6-only host: a TCP connection by IPv6
// address and by name to a server outside the host (in the root namespace, on fd5e:ffff::/32), the name
// answered by a resolver given to the host as its dns64Servers. Only our own namespaces are involved.
// Needs root and setup-machine.sh (dnsmasq-base).
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { DockerEngine, startDockerEngine } from "../../local/dockerd";
import { HARNESS_SERVICE_ADDRESS } from "../../local/hostNetwork";
import { LocalRegistry, startRegistry } from "../../local/registry";
import { stopAllSimHosts } from "../../local/simhost";
import { startResolver, TestResolver } from "./resolver";
import { deliver, pushVariants, rollout, serviceSpec, setUpProxy } from "./serving";
import { startTestHost, TestHost } from "./support";
import { TEST_HOST_RELEASE } from "../support/hostRelease";

const NAME = "outside.hcd.test";
let registry: LocalRegistry;
let deployer: DockerEngine;
let resolver: TestResolver;
let server: Server;
let port: number;
let host: TestHost;

/** Runs busybox in the app's container, as the app would reach the network. */
function fromApp(command: string) {
  return host.sim.exec(`docker exec web /bin/busybox ${command} 2>&1`);
}

/** An HTTP GET over a TCP connection from the app's container (busybox's static wget crashes there). */
async function getFromApp(hostname: string): Promise<string> {
  const request = `printf 'GET / HTTP/1.0\\r\\nHost: outside\\r\\n\\r\\n' | /bin/busybox nc -w 5 ${hostname} ${port}`;
  const result = await fromApp(`sh -c "${request}"`);
  return result.code === 0
    ? result.stdout.split("\r\n\r\n").pop()!
    : `nc failed (${result.code}): ${result.stdout}`;
}

beforeAll(async () => {
  // First: the resolver puts the harness's service address on the root namespace's loopback.
  resolver = await startResolver({ [NAME]: HARNESS_SERVICE_ADDRESS });
  server = createServer((_req, res) => res.end("hello from outside"));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HARNESS_SERVICE_ADDRESS, resolve);
  });
  port = (server.address() as AddressInfo).port;
  registry = await startRegistry();
  deployer = await startDockerEngine({ name: "it-outbound", insecureRegistries: [registry.host] });
  host = await startTestHost("it-out", "fd5e:0:0:f6::1", [registry.host], { resolvers: [resolver.address] });
  const refs = await pushVariants(deployer, registry, "web", { v1: { version: "web v1" } });
  const dbRefs = await pushVariants(deployer, registry, "db", { v1: { version: "db v1" } });
  await deliver(deployer, registry, host, "web", refs.v1);
  await deliver(deployer, registry, host, "db", dbRefs.v1);
  for (const result of [
    await setUpProxy(host),
    await rollout(host, serviceSpec(host, "web", refs.v1)),
    await rollout(host, serviceSpec(host, "db", dbRefs.v1, { hostPort: 8081 })),
  ]) {
    if (result.code !== 0) throw new Error(result.stderr);
  }
}, 300_000);

afterAll(async () => {
  await stopAllSimHosts();
  await deployer?.stop();
  await registry?.stop();
  await new Promise((resolve) => server?.close(resolve));
  await resolver?.stop();
}, 120_000);

// Docker 20.10 (bookworm) cannot forward to IPv6 servers, so the app gets the host's resolvers; Docker 26
// (trixie) forwards to them from its own resolver, which also answers the names of the host's apps.
const dockerForwards = TEST_HOST_RELEASE === "trixie";

test("the app's container has a ULA IPv6 address and a resolver that forwards to the host's", async () => {
  const addresses = await fromApp("ip -6 addr show scope global");
  expect(addresses.stdout).toMatch(/inet6 fd68:6364::[0-9a-f:]+\/64/);
  const resolv = await fromApp("cat /etc/resolv.conf");
  if (dockerForwards) {
    expect(resolv.stdout).toMatch(/^nameserver 127\.0\.0\.11$/m);
    expect(resolv.stdout).toContain(`ExtServers: [${resolver.address}]`);
  } else {
    expect(resolv.stdout).toBe(`nameserver ${resolver.address}\n`);
  }
});

test(`another app on the host by its name: ${dockerForwards ? "answers" : "unknown on Docker 20.10"}`, async () => {
  const result = await fromApp(`sh -c "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /bin/busybox nc -w 5 db 8080"`);
  if (dockerForwards) {
    expect(result.stdout.split("\r\n\r\n").pop()).toBe("db v1");
  } else {
    expect(result.code).not.toBe(0);
    expect(result.stdout).toMatch(/bad address 'db'/);
  }
});

test("a TCP connection by IPv6 address to a server outside the host", async () => {
  expect(await getFromApp(HARNESS_SERVICE_ADDRESS)).toBe("hello from outside");
});

test("a TCP connection by name, resolved through the host's resolver", async () => {
  const lookup = await fromApp(`nslookup -type=AAAA ${NAME}`);
  expect(lookup.stdout).toContain(HARNESS_SERVICE_ADDRESS);
  expect(await getFromApp(NAME)).toBe("hello from outside");
});

test("the connection leaves with the host's address (NAT66)", async () => {
  const seen: string[] = [];
  server.removeAllListeners("request");
  server.on("request", (req, res) => {
    seen.push(req.socket.remoteAddress ?? "");
    res.end("ok");
  });
  expect(await getFromApp(HARNESS_SERVICE_ADDRESS)).toBe("ok");
  expect(seen).toEqual([host.address]);
});
