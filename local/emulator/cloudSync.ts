import { LoadBalancerBackend, LoadBalancerHealth, LoadBalancerSpec, NetworkSpec } from "./cloudBackend";
import { firstHostAddress } from "./ipv6";
import { networkOfLoadBalancer } from "./lookups";
import { EmulatorState, LoadBalancerRecord, NetworkRecord } from "./state";

function networkSpec(network: NetworkRecord): NetworkSpec {
  return {
    id: network.id,
    ipRange: network.ipRange,
    members: network.attachments.map(({ kind, id, ip }) => ({ kind, id, ip })),
  };
}

/** Targets whose server left the load balancer's network have no address and receive nothing. */
function loadBalancerSpec(state: EmulatorState, lb: LoadBalancerRecord): LoadBalancerSpec {
  const joined = networkOfLoadBalancer(state, lb);
  const targets = lb.targets.flatMap((target) => {
    const attachment = joined?.network.attachments.find(
      (a) => a.kind === "server" && a.id === target.serverId,
    );
    return target.usePrivateIp && attachment ? [{ serverId: target.serverId, address: attachment.ip }] : [];
  });
  const certificateIds = new Set(lb.services.flatMap((service) => service.http?.certificates ?? []));
  const certificates = Object.fromEntries(
    state.certificates
      .filter((certificate) => certificateIds.has(certificate.id))
      .map((c) => [c.id, `${c.certificate.trimEnd()}\n${c.privateKey.trimEnd()}\n`]),
  );
  return {
    id: lb.id,
    ipv6: firstHostAddress(lb.ipv6Network),
    privateIp: joined?.ip,
    publicInterface: lb.publicInterface,
    algorithm: lb.algorithm,
    services: lb.services,
    certificates,
    targets,
  };
}

/**
 * Keeps the backend in line with the state: after every change the handlers call sync(), which states
 * the whole current shape of every network and load balancer (the backend applies only differences)
 * and removes what the state no longer has. Runs are queued, and each reads the state when it starts,
 * so concurrent requests end with the backend matching the latest state.
 */
export class CloudSync {
  private readonly networks = new Set<number>();
  private readonly loadBalancers = new Set<number>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly state: () => EmulatorState,
    readonly backend: LoadBalancerBackend,
  ) {}

  sync(): Promise<void> {
    const run = this.queue.then(() => this.reconcile());
    this.queue = run.catch(() => undefined);
    return run;
  }

  health(id: number): Promise<LoadBalancerHealth> {
    return this.backend.health(id);
  }

  async close(): Promise<void> {
    await this.queue;
    await this.backend.close();
  }

  private async reconcile(): Promise<void> {
    const state = this.state();
    const wantedLbs = new Set(state.loadBalancers.map((lb) => lb.id));
    const wantedNetworks = new Set(state.networks.map((n) => n.id));
    // Load balancers first: a network plugs into their namespaces, so those must exist.
    for (const lb of state.loadBalancers) {
      await this.backend.applyLoadBalancer(loadBalancerSpec(state, lb));
      this.loadBalancers.add(lb.id);
    }
    for (const network of state.networks) {
      await this.backend.applyNetwork(networkSpec(network));
      this.networks.add(network.id);
    }
    for (const id of [...this.networks].filter((n) => !wantedNetworks.has(n))) {
      await this.backend.deleteNetwork(id);
      this.networks.delete(id);
    }
    for (const id of [...this.loadBalancers].filter((n) => !wantedLbs.has(n))) {
      await this.backend.deleteLoadBalancer(id);
      this.loadBalancers.delete(id);
    }
  }
}
