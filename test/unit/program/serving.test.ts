// How the program serves apps: rolling order across hosts (Pulumi dependencies between an app's
// services), proxy ports in the firewall, no admin port anywhere, and the exports clients need.
import { ProgramRun, Recorded, runProgram, stackConfig } from "../support/program";

/** Names of the resources a recorded resource depends on explicitly. */
function dependsOn(resource: Recorded): string[] {
  const deps = (resource.opts.dependsOn ?? []) as { __name?: string }[];
  return deps.map((d) => d.__name ?? "?");
}

/** For each service rollout of `app`: the services it waits for. */
function rollingOrder(run: ProgramRun, app: string): Record<string, string[]> {
  return Object.fromEntries(
    run
      .ofType("command:local:Command")
      .filter((r) => r.name.startsWith(`${app}-on-`) && r.name.endsWith("-service-rollout"))
      .map((r) => [r.name.replace(/-service-rollout$/, ""), dependsOn(r)]),
  );
}

describe("rolling across hosts, Pulumi.prod.yaml", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(stackConfig("prod"), { stack: "prod" });
  });

  test("one host of an app at a time, in the order of its hosts: each rollout waits for the previous", () => {
    expect(rollingOrder(run, "web")).toEqual({
      "web-on-fsn-1": [],
      "web-on-fsn-2": ["web-on-fsn-1-service"],
      "web-on-nbg-1": ["web-on-fsn-2-service"],
    });
    expect(rollingOrder(run, "api")).toEqual({
      "api-on-fsn-2": [],
      "api-on-nbg-1": ["api-on-fsn-2-service"],
    });
    expect(rollingOrder(run, "worker")).toEqual({ "worker-on-nbg-1": [] });
  });

  test("the order is on the Service components too, so preview and state show it", () => {
    expect(dependsOn(run.named("web-on-nbg-1-service"))).toEqual(["web-on-fsn-2-service"]);
    expect(dependsOn(run.named("web-on-fsn-1-service"))).toEqual([]);
  });

  test("deliveries wait for no service and no other host: only for their app's fan-out", () => {
    const loads = run.ofType("command:local:Command").filter((r) => r.name.endsWith("-delivery-load"));
    expect(Object.fromEntries(loads.map((load) => [load.name, dependsOn(load)]))).toEqual({
      "web-on-fsn-1-delivery-load": ["web-fan-out"],
      "web-on-fsn-2-delivery-load": ["web-fan-out"],
      "web-on-nbg-1-delivery-load": ["web-fan-out"],
      "api-on-fsn-2-delivery-load": ["api-fan-out"],
      "api-on-nbg-1-delivery-load": ["api-fan-out"],
    });
  });

  test("no rule for a proxy admin port: the firewall opens SSH (from the admins, then from the other hosts), ICMPv6 and the apps' ports only", () => {
    const ports = Object.fromEntries(
      run
        .ofType("hcloud:index/firewall:Firewall")
        .map((f) => [f.name, f.inputs.rules.map((r: { port?: string }) => r.port ?? "icmp")]),
    );
    expect(ports).toEqual({
      "fsn-1-firewall": ["22", "22", "icmp", "80"],
      // api's 8080 stays closed (public: false): web reaches it over the private network.
      "fsn-2-firewall": ["22", "22", "icmp", "80"],
      // The worker has neither hostPort nor domains: no port of its own.
      "nbg-1-firewall": ["22", "22", "icmp", "80"],
    });
  });
});

describe("rollout and HTTPS settings", () => {
  test("hostsAtOnce 2 for the stack: the third host waits for the first", async () => {
    const run = await runProgram(stackConfig("prod", { "hcloud-deploy:rollout": { hostsAtOnce: 2 } }), {
      stack: "prod",
    });
    expect(rollingOrder(run, "web")).toEqual({
      "web-on-fsn-1": [],
      "web-on-fsn-2": [],
      "web-on-nbg-1": ["web-on-fsn-1-service"],
    });
  });

  test("an app's own rollout block wins over the stack's", async () => {
    const config = stackConfig("prod", { "hcloud-deploy:rollout": { hostsAtOnce: 3 } });
    const apps = config["hcloud-deploy:apps"] as Record<string, unknown>[];
    apps[0] = { ...apps[0], rollout: { hostsAtOnce: 1, drainSeconds: 5 } };
    const run = await runProgram(config, { stack: "prod" });
    expect(rollingOrder(run, "web")["web-on-nbg-1"]).toEqual(["web-on-fsn-2-service"]);
    expect(rollingOrder(run, "api")["api-on-nbg-1"]).toEqual([]);
  });

  test("an app with domains opens 80 and 443 on its hosts and is reached over HTTPS", async () => {
    const config = stackConfig("dev");
    const apps = config["hcloud-deploy:apps"] as Record<string, unknown>[];
    const { hostPort: _hostPort, ...web } = apps[0];
    apps[0] = { ...web, domains: ["www.example.com"] };
    const run = await runProgram(config);
    expect(run.named("web-1-firewall").inputs.rules.map((r: { port?: string }) => r.port ?? "icmp")).toEqual([
      "22",
      "22",
      "icmp",
      "80",
      "443",
    ]);
    expect((run.outputs.appUrls as Record<string, string[]>).web).toEqual([
      "https://www.example.com/",
      "https://www.example.com/",
    ]);
    const endpoints = run.outputs.appEndpoints as Record<
      string,
      { host: string; url: string; address: string }[]
    >;
    expect(endpoints.web.map((e) => [e.host, e.url])).toEqual([
      ["web-1", "https://www.example.com/"],
      ["web-2", "https://www.example.com/"],
    ]);
    expect(endpoints.web[0].address).toMatch(/^2001:db8:0:[0-9a-f]+::1$/);
  });

  test("the stack's TLS issuer reaches every host; hosts export their proxy CA", async () => {
    const run = await runProgram(stackConfig("local"), { stack: "local" });
    for (const server of run.ofType("hcloud:index/server:Server")) {
      expect([server.name, server.inputs.userData]).toEqual([
        server.name,
        expect.stringContaining('"issuers":[{"module":"internal"}]'),
      ]);
    }
    expect(Object.keys(run.outputs.proxyCaCertificates as object)).toEqual(["local-1", "local-2"]);
  });
});
