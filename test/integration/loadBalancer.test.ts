// A load balancer materialised by the emulator exactly as the hcloud provider asks for it, in front of
// two simulated hosts, with real traffic through its IPv6. Needs root, haproxy and the machine lock.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { renderCloudInit } from "../../components/cloudInit";
import { generateEd25519KeyPair } from "../../components/sshKeys";
import { RunningEmulator } from "../../local/emulator/emulator";
import { run } from "../../local/exec";
import { buildHttpImage } from "../../local/images";
import { SimHost } from "../../local/simhost";
import { api, probe, startLbEmulator, waitForHealth } from "./lbSupport";
import { TEST_HOST_IMAGE } from "../support/hostRelease";

const PREFIX = "lbt";
const APP_PORT = 8080;
const DOMAIN = "app.lb.test";

let emulator: RunningEmulator;
let workDir: string;
let hosts: Map<string, SimHost>;
const ids = { network: 0, lb: 0, a: 0, b: 0, certificate: 0 };
let lbAddress = "";

const APP_IMAGE = "lbt/app:latest";
/**
 * The app on a host: busybox httpd serving the host's name and a health path on the app port, in the
 * host's own network namespace (the host's system has no busybox: the image carries the machine's).
 */
const APP = `docker run -d --name app --network host ${APP_IMAGE}`;

/** Builds the app's image on the host's engine, its site saying `body`. */
async function buildApp(host: SimHost, body: string): Promise<void> {
  const site = path.join(workDir, body);
  await mkdir(site, { recursive: true });
  await writeFile(path.join(site, "index.html"), `${body}\n`);
  await writeFile(path.join(site, "healthz"), "ok\n");
  await buildHttpImage(host, { tag: APP_IMAGE, siteDir: site, port: APP_PORT });
}

/** This test's namespaces, sorted: hosts "hcd-lbt<id>", load balancer "hcd-lbtl<id>", network "hcd-lbtn<id>". */
const namespaces = async () =>
  (await run("ip", ["netns", "list"])).stdout
    .split("\n")
    .map((line) => line.split(" ")[0])
    .filter((name) => name.startsWith(`hcd-${PREFIX}`))
    .sort();

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), "hcd-lb-test-"));
  ({ emulator, hosts } = await startLbEmulator(PREFIX, "fd5e:1b00::/32"));
  const server = async (name: string, location: string) => {
    const userData = renderCloudInit({
      hostKey: generateEd25519KeyPair(name),
      generation: 1,
      dns64Servers: [],
      tls: { issuer: "internal" },
    });
    const body = { name, server_type: "cx23", image: TEST_HOST_IMAGE, location, user_data: userData };
    const res = await api(emulator.endpoint, "POST", "/servers", {
      ...body,
      public_net: { enable_ipv4: false, enable_ipv6: true },
    });
    if (res.status !== 201) throw new Error(`server ${name}: ${JSON.stringify(res.body)}`);
    const host = hosts.get(`${PREFIX}${res.body.server.id}`)!;
    await buildApp(host, name);
    expect((await host.exec(APP)).code).toBe(0);
    return res.body.server.id as number;
  };
  [ids.a, ids.b] = [await server("host-a", "fsn1"), await server("host-b", "nbg1")];
}, 180_000);

afterAll(async () => {
  await emulator?.close();
  await rm(workDir, { recursive: true, force: true });
});

test("the provider's calls build the network, the load balancer, its service and private targets", async () => {
  const network = await api(emulator.endpoint, "POST", "/networks", {
    name: "web-lb-network",
    ip_range: "10.0.0.0/16",
    expose_routes_to_vswitch: false,
  });
  ids.network = network.body.network.id;
  const subnet = { type: "cloud", ip_range: "10.0.0.0/24", network_zone: "eu-central" };
  expect(
    (await api(emulator.endpoint, "POST", `/networks/${ids.network}/actions/add_subnet`, subnet)).status,
  ).toBe(201);
  const lb = await api(emulator.endpoint, "POST", "/load_balancers", {
    name: "web-lb",
    load_balancer_type: "lb11",
    location: "fsn1",
  });
  ids.lb = lb.body.load_balancer.id;
  lbAddress = lb.body.load_balancer.public_net.ipv6.ip;
  const attach = { network: ids.network, ip_range: "10.0.0.0/24" };
  for (const path of [`/load_balancers/${ids.lb}`, `/servers/${ids.a}`, `/servers/${ids.b}`]) {
    const res = await api(emulator.endpoint, "POST", `${path}/actions/attach_to_network`, attach);
    expect([path, res.body.action?.status]).toEqual([path, "success"]);
  }
  const service = await api(emulator.endpoint, "POST", `/load_balancers/${ids.lb}/actions/add_service`, {
    protocol: "http",
    listen_port: 80,
    destination_port: APP_PORT,
    health_check: {
      protocol: "http",
      port: APP_PORT,
      interval: 1,
      timeout: 1,
      retries: 2,
      http: { domain: "", path: "/healthz", response: "", tls: false, status_codes: ["2??", "3??"] },
    },
  });
  expect([service.body.action.status, service.body.action.error]).toEqual(["success", null]);
  for (const id of [ids.a, ids.b]) {
    const target = { type: "server", server: { id }, use_private_ip: true };
    const res = await api(emulator.endpoint, "POST", `/load_balancers/${ids.lb}/actions/add_target`, target);
    expect([res.body.action.status, res.body.action.error]).toEqual(["success", null]);
  }
  expect(await namespaces()).toEqual(
    expect.arrayContaining([`hcd-${PREFIX}l${ids.lb}`, `hcd-${PREFIX}n${ids.network}`]),
  );
  await waitForHealth(emulator.endpoint, ids.lb, { [ids.a]: "healthy", [ids.b]: "healthy" });
}, 120_000);

test("traffic to the load balancer's IPv6 reaches both hosts, with no failed request", async () => {
  const result = await probe(`http://[${lbAddress}]:80/`, 40);
  console.log(
    `probe: both hosts up: sent ${result.sent}, failed ${result.failed}, bodies ${JSON.stringify(result.bodies)}`,
  );
  expect(result.failed).toBe(0);
  expect(Object.keys(result.bodies).sort()).toEqual(["host-a", "host-b"]);
}, 60_000);

test("a host whose app stops answering is taken out by the health check; no request fails afterwards", async () => {
  await hosts.get(`${PREFIX}${ids.b}`)!.exec("docker rm -f app");
  await waitForHealth(emulator.endpoint, ids.lb, { [ids.a]: "healthy", [ids.b]: "unhealthy" });
  const result = await probe(`http://[${lbAddress}]:80/`, 40);
  console.log(
    `probe: host-b down: sent ${result.sent}, failed ${result.failed}, bodies ${JSON.stringify(result.bodies)}`,
  );
  expect([result.failed, result.bodies]).toEqual([0, { "host-a": 40 }]);
  // Back up: the next good check brings it back without any change through the API.
  await hosts.get(`${PREFIX}${ids.b}`)!.exec(APP);
  await waitForHealth(emulator.endpoint, ids.lb, { [ids.a]: "healthy", [ids.b]: "healthy" });
}, 90_000);

test("HTTPS at the load balancer with an issued managed certificate; HTTP answers with a redirect", async () => {
  const cert = await api(emulator.endpoint, "POST", "/certificates", {
    name: "web-cert",
    type: "managed",
    domain_names: [DOMAIN],
  });
  ids.certificate = cert.body.certificate.id;
  const caFile = path.join(workDir, "ca.pem");
  await writeFile(caFile, cert.body.certificate.certificate);
  expect(
    (
      await api(emulator.endpoint, "POST", `/load_balancers/${ids.lb}/actions/delete_service`, {
        listen_port: 80,
      })
    ).status,
  ).toBe(201);
  const https = await api(emulator.endpoint, "POST", `/load_balancers/${ids.lb}/actions/add_service`, {
    protocol: "https",
    listen_port: 443,
    destination_port: APP_PORT,
    http: { certificates: [ids.certificate], redirect_http: true, sticky_sessions: false },
    health_check: {
      protocol: "http",
      port: APP_PORT,
      interval: 1,
      timeout: 1,
      retries: 2,
      http: { path: "/healthz", status_codes: ["2??"] },
    },
  });
  expect([https.body.action.status, https.body.action.error]).toEqual(["success", null]);
  const resolve = `${DOMAIN}:443:[${lbAddress}]`;
  const body = await run("curl", [
    "-sS",
    "--max-time",
    "5",
    "--cacert",
    caFile,
    "--resolve",
    resolve,
    `https://${DOMAIN}/`,
  ]);
  expect(["host-a", "host-b"]).toContain(body.stdout.trim());
  const redirect = await run("curl", [
    "-sS",
    "--max-time",
    "5",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code} %{redirect_url}",
    `http://[${lbAddress}]/x`,
  ]);
  expect(redirect.stdout).toBe(`301 https://[${lbAddress}]/x`);
}, 60_000);

test("destroy in the provider's order leaves no namespace, bridge or veth behind", async () => {
  for (const id of [ids.a, ids.b]) {
    await api(emulator.endpoint, "POST", `/load_balancers/${ids.lb}/actions/remove_target`, {
      type: "server",
      server: { id },
    });
  }
  await api(emulator.endpoint, "POST", `/load_balancers/${ids.lb}/actions/delete_service`, {
    listen_port: 443,
  });
  expect((await api(emulator.endpoint, "DELETE", `/load_balancers/${ids.lb}`)).status).toBe(204);
  expect((await api(emulator.endpoint, "DELETE", `/certificates/${ids.certificate}`)).status).toBe(204);
  for (const id of [ids.a, ids.b]) {
    await api(emulator.endpoint, "POST", `/servers/${id}/actions/detach_from_network`, {
      network: ids.network,
    });
  }
  expect((await api(emulator.endpoint, "DELETE", `/networks/${ids.network}`)).status).toBe(204);
  expect(await namespaces()).toEqual([`hcd-${PREFIX}${ids.a}`, `hcd-${PREFIX}${ids.b}`].sort());
  const links = (await run("ip", ["-o", "link", "show"])).stdout;
  expect(links).not.toContain(`hcd-${PREFIX}l`);
  const hostLinks = await hosts.get(`${PREFIX}${ids.a}`)!.exec("ip -o link show");
  expect(hostLinks.stdout).not.toContain(`priv${ids.network}`);
}, 60_000);
