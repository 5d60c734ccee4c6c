import { MockedRun, outputValue, runProgram, stackConfig } from "../support/program";

const LB = "hcloud-deploy:loadBalancer:LoadBalancer";

describe("load balancer for web under mocks, Pulumi.prod.yaml", () => {
  let run: MockedRun;
  beforeAll(async () => {
    run = await runProgram(stackConfig("prod"), { stack: "prod" });
  });

  test("one LoadBalancer, for web, in front of web's three hosts", () => {
    expect(run.ofType(LB).map((r) => r.name)).toEqual(["web-lb"]);
    expect(run.ofType("hcloud:index/loadBalancerTarget:LoadBalancerTarget").map((r) => r.name)).toEqual([
      "web-lb-fsn-1-target",
      "web-lb-fsn-2-target",
      "web-lb-nbg-1-target",
    ]);
    // Each host is in the load balancer's network and in the stack's own.
    expect(run.ofType("hcloud:index/serverNetwork:ServerNetwork").map((r) => r.name)).toEqual([
      "fsn-1-private",
      "fsn-2-private",
      "nbg-1-private",
      "web-lb-fsn-1-attachment",
      "web-lb-fsn-2-attachment",
      "web-lb-nbg-1-attachment",
    ]);
  });

  test("lb11 in fsn1, labelled with project and stack; the subnet in eu-central, which holds nbg-1 too", () => {
    expect(run.named("web-lb-balancer").inputs).toEqual({
      loadBalancerType: "lb11",
      location: "fsn1",
      labels: { project: "hcloud-deploy", stack: "prod" },
    });
    expect(run.named("web-lb-subnet").inputs.networkZone).toBe("eu-central");
  });

  test("every target is a host's server over its private IP", () => {
    for (const host of ["fsn-1", "fsn-2", "nbg-1"]) {
      const target = run.named(`web-lb-${host}-target`).inputs;
      expect([host, target]).toEqual([
        host,
        { type: "server", loadBalancerId: 8001, serverId: expect.any(Number), usePrivateIp: true },
      ]);
    }
  });

  test("TLS at the load balancer for web's domains; HTTPS to port 80 on the hosts, checked on /healthz", () => {
    expect(run.named("web-lb-certificate").inputs.domainNames).toEqual(["example.com", "www.example.com"]);
    expect(run.named("web-lb-https").inputs).toMatchObject({
      protocol: "https",
      listenPort: 443,
      destinationPort: 80,
      http: { certificates: [9001], redirectHttp: true },
      healthCheck: { protocol: "http", port: 80, http: { path: "/healthz", statusCodes: ["2??", "3??"] } },
    });
  });

  test("the stack output gives web's load balancer addresses and URL", async () => {
    const outputs = run.outputs.appLoadBalancers as Record<string, unknown>;
    expect(Object.keys(outputs)).toEqual(["web"]);
    expect(await outputValue(run.pulumi, outputs.web)).toEqual({
      ipv4: "203.0.113.10",
      ipv6: "2001:db8:4b::1",
      url: "https://example.com/",
    });
  });

  test("behind the load balancer the hosts serve web over plain HTTP on its hostPort, not its domains", () => {
    for (const host of ["fsn-1", "fsn-2", "nbg-1"]) {
      const script = run.named(`web-on-${host}-service-rollout`).inputs.environment.HCLOUD_DEPLOY_SCRIPT;
      expect([host, script.includes("example.com"), script.includes('"listen":[":80"]')]).toEqual([
        host,
        false,
        true,
      ]);
    }
  });

  test("the hosts' public firewalls are unchanged: private-network traffic is not filtered by them", () => {
    const rules = run.named("fsn-1-firewall").inputs.rules as { port?: string }[];
    expect(rules.map((r) => r.port)).toEqual(["22", "22", undefined, "80"]);
  });
});

test.each(["dev", "local"])("%s has no load balancer", async (stack) => {
  const run = await runProgram(stackConfig(stack), { stack });
  // The stack's own network (private-…) is there; none of a load balancer's.
  const lbParts = run.resources.filter((r) => r.type.includes("oadBalancer") || /-lb-/.test(r.name));
  expect(lbParts.map((r) => r.name)).toEqual([]);
  expect(run.ofType("hcloud:index/network:Network").map((r) => r.name)).toEqual(["private-network"]);
  expect(run.outputs.appLoadBalancers).toEqual({});
});
