import type { LoadBalancerSpec } from "../../../../local/emulator/cloudBackend";
import { SimLbBackend } from "../../../../local/emulator/simLbBackend";
import type { NetworkMember, SimNetworkSpec } from "../../../../local/privateNetwork";

/** A SimLbBackend over fakes that record what would have been started, applied and stopped. */
function backend(serverNetns: Record<number, string>) {
  const events: string[] = [];
  const applied: Record<string, NetworkMember[]> = {};
  const specs: LoadBalancerSpec[] = [];
  const lbs = new SimLbBackend({
    prefix: "e",
    serverNetns: (id) => serverNetns[id],
    startLoadBalancer: async ({ name, ipv6 }) => {
      events.push(`start lb ${name} ${ipv6}`);
      return {
        netns: `hcd-${name}`,
        apply: async (spec) => void specs.push(spec),
        health: async () => ({ 80: { 4001: "healthy" } }),
        stop: async () => void events.push(`stop lb ${name}`),
      };
    },
    startNetwork: async (spec: SimNetworkSpec) => {
      events.push(`start network ${spec.name} ${spec.ipRange} ${spec.interfaceName}`);
      return {
        netns: `hcd-${spec.name}`,
        apply: async (members) => void (applied[spec.name] = members),
        stop: async () => void events.push(`stop network ${spec.name}`),
      };
    },
  });
  return { lbs, events, applied, specs };
}

const LB: LoadBalancerSpec = {
  id: 6001,
  ipv6: "fd5e:0:0:3::1",
  privateIp: "10.0.0.2",
  publicInterface: true,
  algorithm: "round_robin",
  services: [],
  certificates: {},
  targets: [],
};

test("one proxy per load balancer, named from the prefix and ID; re-applied, not restarted, unless its IPv6 changes", async () => {
  const { lbs, events, specs } = backend({});
  await lbs.applyLoadBalancer(LB);
  await lbs.applyLoadBalancer({ ...LB, algorithm: "least_connections" });
  await lbs.applyLoadBalancer({ ...LB, ipv6: "fd5e:0:0:9::1" });
  expect(events).toEqual([
    "start lb el6001 fd5e:0:0:3::1",
    "stop lb el6001",
    "start lb el6001 fd5e:0:0:9::1",
  ]);
  expect(specs.map((s) => s.algorithm)).toEqual(["round_robin", "least_connections", "round_robin"]);
  expect(await lbs.health(6001)).toEqual({ 80: { 4001: "healthy" } });
  expect(await lbs.health(6002)).toEqual({});
});

test("network members are the servers' host namespaces and the load balancers' own; one without a namespace waits", async () => {
  const { lbs, events, applied } = backend({ 4001: "hcd-e4001" });
  await lbs.applyLoadBalancer(LB);
  await lbs.applyNetwork({
    id: 5001,
    ipRange: "10.0.0.0/16",
    members: [
      { kind: "server", id: 4001, ip: "10.0.0.3" },
      { kind: "server", id: 4002, ip: "10.0.0.4" },
      { kind: "load_balancer", id: 6001, ip: "10.0.0.2" },
    ],
  });
  expect(events).toContain("start network en5001 10.0.0.0/16 priv5001");
  expect(applied.en5001).toEqual([
    { key: "s4001", netns: "hcd-e4001", ip: "10.0.0.3" },
    { key: "l6001", netns: "hcd-el6001", ip: "10.0.0.2" },
  ]);
});

test("delete and close stop what was started, networks before load balancers", async () => {
  const { lbs, events } = backend({});
  await lbs.applyLoadBalancer(LB);
  await lbs.applyLoadBalancer({ ...LB, id: 6002 });
  await lbs.applyNetwork({ id: 5001, ipRange: "10.0.0.0/16", members: [] });
  await lbs.deleteLoadBalancer(6002);
  await lbs.close();
  expect(events.filter((e) => e.startsWith("stop"))).toEqual([
    "stop lb el6002",
    "stop network en5001",
    "stop lb el6001",
  ]);
});
