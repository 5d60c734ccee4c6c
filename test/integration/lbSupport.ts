import { request } from "node:http";
import { RunningEmulator, startEmulator } from "../../local/emulator/emulator";
import { SimHostBackend } from "../../local/emulator/simhostBackend";
import { SimLbBackend } from "../../local/emulator/simLbBackend";
import { delay } from "../../local/exec";
import { startSimNetwork } from "../../local/privateNetwork";
import { SimHost, startSimHost } from "../../local/simhost";
import { startSimLoadBalancer } from "../../local/simLoadBalancer";

/**
 * The Hetzner API emulator with simulated hosts, private networks and load balancers, as the local stack
 * runs it; hosts are named `<prefix><server id>` and listed in `hosts` as they start.
 */
export async function startLbEmulator(
  prefix: string,
  ipv6Pool: string,
): Promise<{ emulator: RunningEmulator; hosts: Map<string, SimHost> }> {
  const hosts = new Map<string, SimHost>();
  const simHosts = new SimHostBackend(
    async (spec) => {
      const host = await startSimHost(spec);
      hosts.set(spec.name, host);
      return host;
    },
    { hostNamePrefix: prefix },
  );
  const emulator = await startEmulator({
    hosts: simHosts,
    loadBalancers: new SimLbBackend({
      startNetwork: startSimNetwork,
      startLoadBalancer: startSimLoadBalancer,
      serverNetns: (id) => simHosts.netnsOf(id),
      prefix,
    }),
    ipv6Pool,
  });
  return { emulator, hosts };
}

// any: the assertions dig into arbitrary API JSON
/** A request to the emulator at `endpoint` (`…/v1`), with a token it accepts. */
export async function api(
  endpoint: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${endpoint}${path}`, {
    method,
    headers: { Authorization: `Bearer ${"t".repeat(64)}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === "" ? undefined : JSON.parse(text) };
}

/** One GET on a new connection, 2 s timeout: the body, or undefined when it failed. */
function getOnce(url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: 2000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve(res.statusCode === 200 ? Buffer.concat(chunks).toString().trim() : undefined),
      );
      res.on("error", () => resolve(undefined));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
    req.end();
  });
}

/** `count` sequential requests, each on a new connection; bodies counted, failures (non-200 or error) too. */
export async function probe(
  url: string,
  count: number,
): Promise<{ sent: number; failed: number; bodies: Record<string, number> }> {
  const bodies: Record<string, number> = {};
  let failed = 0;
  for (let i = 0; i < count; i++) {
    const body = await getOnce(url);
    if (body === undefined) failed++;
    else bodies[body] = (bodies[body] ?? 0) + 1;
  }
  return { sent: count, failed, bodies };
}

/** Polls GET /load_balancers/{id} until every named target reports the wanted health on every service. */
export async function waitForHealth(
  endpoint: string,
  lbId: number,
  wanted: Record<number, string>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen: unknown;
  while (Date.now() < deadline) {
    const lb = (await api(endpoint, "GET", `/load_balancers/${lbId}`)).body.load_balancer;
    seen = lb.targets.map((t: any) => [t.server.id, t.health_status.map((h: any) => h.status)]);
    const ok = Object.entries(wanted).every(([id, status]) => {
      const target = lb.targets.find((t: any) => t.server.id === Number(id));
      return target && target.health_status.every((h: any) => h.status === status);
    });
    if (ok) return;
    await delay(250);
  }
  throw new Error(
    `load balancer ${lbId}: health did not become ${JSON.stringify(wanted)}; last seen ${JSON.stringify(seen)}`,
  );
}
