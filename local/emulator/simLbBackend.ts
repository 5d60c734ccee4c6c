import type { SimNetwork, SimNetworkSpec } from "../privateNetwork";
import type { SimLoadBalancer } from "../simLoadBalancer";
import { LoadBalancerBackend, LoadBalancerHealth, LoadBalancerSpec, NetworkSpec } from "./cloudBackend";

export type StartSimNetwork = (spec: SimNetworkSpec) => Promise<SimNetwork>;
export type StartSimLoadBalancer = (opts: { name: string; ipv6: string }) => Promise<SimLoadBalancer>;

export interface SimLbBackendOptions {
  startNetwork: StartSimNetwork;
  startLoadBalancer: StartSimLoadBalancer;
  /** The namespace of a server's running host (SimHostBackend.netnsOf); undefined while it has none. */
  serverNetns: (serverId: number) => string | undefined;
  /** Distinguishes two emulators on one machine, like the hosts' prefix. Default: "s". */
  prefix?: string;
}

/** Namespace names: "hcd-<prefix>l<id>" for a load balancer, "hcd-<prefix>n<id>" for a network. */
export function simLbName(id: number, prefix = "s"): string {
  return `${prefix}l${id}`;
}

export function simNetworkName(id: number, prefix = "s"): string {
  return `${prefix}n${id}`;
}

/**
 * Puts a real proxy (local/simLoadBalancer.ts) behind every load balancer and a bridge namespace
 * (local/privateNetwork.ts) behind every network. A member whose namespace is not up (a server whose
 * host failed) is left out until a later change finds it running.
 */
export class SimLbBackend implements LoadBalancerBackend {
  private readonly networks = new Map<number, SimNetwork>();
  private readonly loadBalancers = new Map<number, { ipv6: string; lb: SimLoadBalancer }>();

  constructor(private readonly options: SimLbBackendOptions) {}

  async applyLoadBalancer(spec: LoadBalancerSpec): Promise<void> {
    let entry = this.loadBalancers.get(spec.id);
    if (entry && entry.ipv6 !== spec.ipv6) {
      await entry.lb.stop();
      entry = undefined;
    }
    if (!entry) {
      const lb = await this.options.startLoadBalancer({
        name: simLbName(spec.id, this.options.prefix),
        ipv6: spec.ipv6,
      });
      entry = { ipv6: spec.ipv6, lb };
      this.loadBalancers.set(spec.id, entry);
    }
    await entry.lb.apply(spec);
  }

  async deleteLoadBalancer(id: number): Promise<void> {
    const entry = this.loadBalancers.get(id);
    this.loadBalancers.delete(id);
    await entry?.lb.stop();
  }

  async applyNetwork(spec: NetworkSpec): Promise<void> {
    let network = this.networks.get(spec.id);
    if (!network) {
      network = await this.options.startNetwork({
        name: simNetworkName(spec.id, this.options.prefix),
        ipRange: spec.ipRange,
        interfaceName: `priv${spec.id}`,
      });
      this.networks.set(spec.id, network);
    }
    const members = spec.members.flatMap((member) => {
      const netns =
        member.kind === "server"
          ? this.options.serverNetns(member.id)
          : this.loadBalancers.get(member.id)?.lb.netns;
      return netns
        ? [{ key: `${member.kind === "server" ? "s" : "l"}${member.id}`, netns, ip: member.ip }]
        : [];
    });
    await network.apply(members);
  }

  async deleteNetwork(id: number): Promise<void> {
    const network = this.networks.get(id);
    this.networks.delete(id);
    await network?.stop();
  }

  async health(id: number): Promise<LoadBalancerHealth> {
    return (await this.loadBalancers.get(id)?.lb.health()) ?? {};
  }

  async close(): Promise<void> {
    const networks = [...this.networks.values()];
    const lbs = [...this.loadBalancers.values()].map((entry) => entry.lb);
    this.networks.clear();
    this.loadBalancers.clear();
    await Promise.all(networks.map((network) => network.stop()));
    await Promise.all(lbs.map((lb) => lb.stop()));
  }
}
