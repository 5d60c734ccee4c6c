import { LoadBalancerService } from "./state";

/** A server or load balancer plugged into a private network at a private IPv4 address. */
export interface NetworkMemberSpec {
  kind: "server" | "load_balancer";
  id: number;
  ip: string;
}

export interface NetworkSpec {
  id: number;
  /** The network's range, e.g. `10.0.0.0/16`: every member's address is on-link within it. */
  ipRange: string;
  members: NetworkMemberSpec[];
}

export interface LoadBalancerTargetSpec {
  serverId: number;
  /** The server's private IPv4 in the load balancer's network. */
  address: string;
}

export interface LoadBalancerSpec {
  id: number;
  /** The public IPv6 address (`<network>::1`); its /64 is routed to the load balancer. */
  ipv6: string;
  /** Where it is in a private network; targets are reached through it. */
  privateIp: string | undefined;
  /** False: it answers on its private IP only. */
  publicInterface: boolean;
  algorithm: "round_robin" | "least_connections";
  services: LoadBalancerService[];
  /** Certificate ID → PEM certificate followed by its private key, for the https services. */
  certificates: Record<number, string>;
  targets: LoadBalancerTargetSpec[];
}

export type TargetHealth = "healthy" | "unhealthy" | "unknown";

/** Listen port → server ID → what the health checks say. */
export type LoadBalancerHealth = Record<number, Record<number, TargetHealth>>;

/**
 * Materialises private networks and load balancers. Every call states the whole desired shape of one
 * network or load balancer; the backend reconciles. A rejection fails the action that caused it.
 */
export interface LoadBalancerBackend {
  applyNetwork(spec: NetworkSpec): Promise<void>;
  deleteNetwork(id: number): Promise<void>;
  applyLoadBalancer(spec: LoadBalancerSpec): Promise<void>;
  deleteLoadBalancer(id: number): Promise<void>;
  health(id: number): Promise<LoadBalancerHealth>;
  /** Removes everything it materialised (emulator shutdown). */
  close(): Promise<void>;
}

/** For API-level tests: remembers the last spec of each network and load balancer; every target is healthy. */
export class InMemoryLoadBalancerBackend implements LoadBalancerBackend {
  readonly networks = new Map<number, NetworkSpec>();
  readonly loadBalancers = new Map<number, LoadBalancerSpec>();

  async applyNetwork(spec: NetworkSpec): Promise<void> {
    this.networks.set(spec.id, spec);
  }

  async deleteNetwork(id: number): Promise<void> {
    this.networks.delete(id);
  }

  async applyLoadBalancer(spec: LoadBalancerSpec): Promise<void> {
    this.loadBalancers.set(spec.id, spec);
  }

  async deleteLoadBalancer(id: number): Promise<void> {
    this.loadBalancers.delete(id);
  }

  async health(id: number): Promise<LoadBalancerHealth> {
    const spec = this.loadBalancers.get(id);
    if (!spec) return {};
    return Object.fromEntries(
      spec.services.map((service) => [
        service.listen_port,
        Object.fromEntries(spec.targets.map((t): [number, TargetHealth] => [t.serverId, "healthy"])),
      ]),
    );
  }

  async close(): Promise<void> {
    this.networks.clear();
    this.loadBalancers.clear();
  }
}
