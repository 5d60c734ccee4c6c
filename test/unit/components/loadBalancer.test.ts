import type { LoadBalancerArgs } from "../../../components/loadBalancer";
import {
  freshRuntime,
  MockedRun,
  noResources,
  outputValue,
  Recorded,
  runUnderMocks,
} from "../support/program";

const T = {
  lb: "hcloud-deploy:loadBalancer:LoadBalancer",
  network: "hcloud:index/network:Network",
  subnet: "hcloud:index/networkSubnet:NetworkSubnet",
  balancer: "hcloud:index/loadBalancer:LoadBalancer",
  lbNetwork: "hcloud:index/loadBalancerNetwork:LoadBalancerNetwork",
  serverNetwork: "hcloud:index/serverNetwork:ServerNetwork",
  target: "hcloud:index/loadBalancerTarget:LoadBalancerTarget",
  service: "hcloud:index/loadBalancerService:LoadBalancerService",
  certificate: "hcloud:index/managedCertificate:ManagedCertificate",
};

type Args = Omit<LoadBalancerArgs, "targets">;
const REQUIRED: Args = { location: "nbg1", targetPort: 80, health: { path: "/healthz" } };

interface LbRun extends MockedRun {
  url: string;
  ipv6: string;
  ipv4: string;
}

/** Constructs LoadBalancer "web-lb" directly under mocks, in front of servers 4001 (a-1) and 4002 (b-1). */
async function runLb(args: Args): Promise<LbRun> {
  let lb: import("../../../components/loadBalancer").LoadBalancer | undefined;
  const run = await runUnderMocks({}, async (pulumi) => {
    const { LoadBalancer } = await import("../../../components/loadBalancer");
    const targets = [
      { hostName: "a-1", serverId: pulumi.output("4001") },
      { hostName: "b-1", serverId: pulumi.output("4002") },
    ];
    lb = new LoadBalancer("web-lb", { ...args, targets });
  });
  const out = <T>(o: import("@pulumi/pulumi").Output<T>) => outputValue(run.pulumi, o);
  return { ...run, url: await out(lb!.url), ipv6: await out(lb!.ipv6), ipv4: await out(lb!.ipv4) };
}

const dependsOnNames = (r: Recorded) =>
  ((r.opts.dependsOn ?? []) as unknown as { __name: string }[]).map((d) => d.__name);

describe("LoadBalancer with only the required args", () => {
  let run: LbRun;
  beforeAll(async () => {
    run = await runLb(REQUIRED);
  });

  test("exactly these children, named from the component and parented to it", () => {
    expect(run.resources.map((r) => [r.type, r.name, r.parentName])).toEqual([
      [T.lb, "web-lb", undefined],
      [T.network, "web-lb-network", "web-lb"],
      [T.subnet, "web-lb-subnet", "web-lb"],
      [T.balancer, "web-lb-balancer", "web-lb"],
      [T.lbNetwork, "web-lb-attachment", "web-lb"],
      [T.serverNetwork, "web-lb-a-1-attachment", "web-lb"],
      [T.target, "web-lb-a-1-target", "web-lb"],
      [T.serverNetwork, "web-lb-b-1-attachment", "web-lb"],
      [T.target, "web-lb-b-1-target", "web-lb"],
      [T.service, "web-lb-http", "web-lb"],
    ]);
  });

  test("a private network 10.0.0.0/16 with a cloud subnet 10.0.0.0/24 in the location's zone", () => {
    expect(run.named("web-lb-network").inputs).toEqual({ ipRange: "10.0.0.0/16", labels: {} });
    expect(run.named("web-lb-subnet").inputs).toEqual({
      networkId: 7001,
      type: "cloud",
      networkZone: "eu-central",
      ipRange: "10.0.0.0/24",
    });
  });

  test("an lb11 in the given location, attached to the subnet; the servers join the same subnet", () => {
    expect(run.named("web-lb-balancer").inputs).toEqual({
      loadBalancerType: "lb11",
      location: "nbg1",
      labels: {},
    });
    expect(run.named("web-lb-attachment").inputs).toEqual({
      loadBalancerId: 8001,
      subnetId: "7001-10.0.0.0/24",
    });
    expect(run.named("web-lb-a-1-attachment").inputs).toEqual({
      serverId: 4001,
      subnetId: "7001-10.0.0.0/24",
    });
    expect(run.named("web-lb-b-1-attachment").inputs).toEqual({
      serverId: 4002,
      subnetId: "7001-10.0.0.0/24",
    });
  });

  test("targets are the servers over their private IPs, once both ends are in the network", () => {
    expect(run.named("web-lb-a-1-target").inputs).toEqual({
      type: "server",
      loadBalancerId: 8001,
      serverId: 4001,
      usePrivateIp: true,
    });
    expect(run.named("web-lb-b-1-target").inputs.serverId).toBe(4002);
    expect(dependsOnNames(run.named("web-lb-a-1-target"))).toEqual([
      "web-lb-attachment",
      "web-lb-a-1-attachment",
    ]);
    expect(dependsOnNames(run.named("web-lb-b-1-target"))).toEqual([
      "web-lb-attachment",
      "web-lb-b-1-attachment",
    ]);
  });

  test("ID types: numbers for targets and attachments, a string for the service", () => {
    const target = run.named("web-lb-a-1-target").inputs;
    expect([typeof target.loadBalancerId, typeof target.serverId]).toEqual(["number", "number"]);
    expect(typeof run.named("web-lb-http").inputs.loadBalancerId).toBe("string");
    expect(typeof run.named("web-lb-subnet").inputs.networkId).toBe("number");
  });

  test("one http service on the target port, health-checked on the app's path with explicit status codes", () => {
    expect(run.named("web-lb-http").inputs).toEqual({
      loadBalancerId: "8001",
      protocol: "http",
      listenPort: 80,
      destinationPort: 80,
      healthCheck: {
        protocol: "http",
        port: 80,
        interval: 15,
        timeout: 10,
        retries: 3,
        http: { path: "/healthz", statusCodes: ["2??", "3??"] },
      },
    });
  });

  test("outputs: the balancer's addresses and an http URL on its IPv6", () => {
    expect([run.ipv4, run.ipv6, run.url]).toEqual([
      "203.0.113.10",
      "2001:db8:4b::1",
      "http://[2001:db8:4b::1]:80/",
    ]);
  });
});

describe("LoadBalancer with domains", () => {
  let run: LbRun;
  beforeAll(async () => {
    run = await runLb({
      ...REQUIRED,
      domains: ["example.com", "www.example.com"],
      labels: { stack: "prod" },
    });
  });

  test("a managed certificate for the domains and an https service on 443 to the hosts' HTTP port", () => {
    expect(run.named("web-lb-certificate").inputs).toEqual({
      domainNames: ["example.com", "www.example.com"],
      labels: { stack: "prod" },
    });
    expect(run.named("web-lb-https").inputs).toMatchObject({
      loadBalancerId: "8001",
      protocol: "https",
      listenPort: 443,
      destinationPort: 80,
      http: { certificates: [9001], redirectHttp: true },
      healthCheck: { protocol: "http", port: 80, http: { path: "/healthz", statusCodes: ["2??", "3??"] } },
    });
  });

  test("no plain http service (the redirect takes port 80), and the URL is the first domain's", () => {
    expect(run.ofType(T.service).map((r) => r.name)).toEqual(["web-lb-https"]);
    expect(run.url).toBe("https://example.com/");
  });

  test("labels on every Hetzner resource that takes them", () => {
    for (const name of ["web-lb-network", "web-lb-balancer", "web-lb-certificate"]) {
      expect([name, run.named(name).inputs.labels]).toEqual([name, { stack: "prod" }]);
    }
  });
});

describe("LoadBalancer with every optional arg", () => {
  test("type, listen port, network and health settings reach the resources", async () => {
    const run = await runLb({
      location: "hel1",
      type: "lb21",
      targetPort: 8080,
      listenPort: 80,
      network: "172.20.0.0/20",
      health: { path: "/up", intervalSeconds: 5, timeoutSeconds: 3, retries: 2 },
    });
    expect(run.named("web-lb-balancer").inputs.loadBalancerType).toBe("lb21");
    expect(run.named("web-lb-subnet").inputs.ipRange).toBe("172.20.0.0/24");
    expect(run.named("web-lb-http").inputs).toMatchObject({
      listenPort: 80,
      destinationPort: 8080,
      healthCheck: { port: 8080, interval: 5, timeout: 3, retries: 2, http: { path: "/up" } },
    });
    expect(run.url).toBe("http://[2001:db8:4b::1]:80/");
  });
});

describe("LoadBalancer guards", () => {
  test.each([
    [
      "an unknown location",
      { location: "fra1" },
      'LoadBalancer web-lb: [location] "fra1" is not a Hetzner location',
    ],
    ["no targets", { targets: [] }, "LoadBalancer web-lb: [targets] must hold at least one server"],
    [
      "a network too small for the subnet",
      { network: "10.0.0.0/24" },
      "LoadBalancer web-lb: [network] 10.0.0.0/24 must be /23 or larger",
    ],
  ])("%s is refused before anything is registered", async (_name, bad, message) => {
    // The mocks refuse every resource, so the constructor must throw before registering one.
    const pulumi = await freshRuntime({}, "dev", noResources);
    const { LoadBalancer } = await import("../../../components/loadBalancer");
    const targets = [{ hostName: "a-1", serverId: pulumi.output("4001") }];
    expect(() => new LoadBalancer("web-lb", { ...REQUIRED, targets, ...bad })).toThrow(message);
  });
});
