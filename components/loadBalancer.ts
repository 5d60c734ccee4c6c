import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import type { HostTarget } from "./hostTarget";

/** Hetzner's network zones: a private network's subnet, its servers and its load balancer share one. */
export const NETWORK_ZONES: Readonly<Record<string, string>> = {
  fsn1: "eu-central",
  nbg1: "eu-central",
  hel1: "eu-central",
  ash: "us-east",
  hil: "us-west",
  sin: "ap-southeast",
};

/** Defaults of the optional LoadBalancerArgs fields. */
export const LOAD_BALANCER_DEFAULTS = {
  type: "lb11",
  network: "10.0.0.0/16",
  health: { intervalSeconds: 15, timeoutSeconds: 10, retries: 3 },
};

/** What counts as healthy: the app's own health gate accepts 2xx and 3xx too. */
const HEALTHY_STATUS_CODES = ["2??", "3??"];

/** The load balancer's HTTP check on every target. */
export interface LoadBalancerHealthCheck {
  /** Absolute URL path, e.g. `/healthz`. */
  readonly path: string;
  /** Seconds between checks. Default: 15. */
  readonly intervalSeconds?: number;
  /** Seconds a check may take. Default: 10. */
  readonly timeoutSeconds?: number;
  /** Failed checks in a row before a target stops receiving traffic. Default: 3. */
  readonly retries?: number;
}

export interface LoadBalancerArgs {
  /** Hetzner location of the load balancer, e.g. `fsn1`; every target must be in its network zone. */
  readonly location: string;
  /** Hetzner load balancer type. Default: `lb11`. */
  readonly type?: string;
  /** The servers behind it (at least one); HetznerHost qualifies. */
  readonly targets: readonly Pick<HostTarget, "hostName" | "serverId">[];
  /** Port the app answers plain HTTP on, on each target (the app's host port). */
  readonly targetPort: number;
  /** Port clients connect to without TLS. Default: `targetPort`. Unused when `domains` is set. */
  readonly listenPort?: number;
  readonly health: LoadBalancerHealthCheck;
  /**
   * DNS names pointing at the load balancer: TLS ends there with a Hetzner managed certificate for them
   * (their DNS must be hosted by Hetzner), HTTPS on 443, HTTP on 80 redirected. Default: none, plain HTTP.
   */
  readonly domains?: readonly string[];
  /** Private IPv4 range of the network between load balancer and targets, /8 to /23. Default: `10.0.0.0/16`. */
  readonly network?: string;
  /** Labels for every Hetzner resource it creates. Default: none. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The first /24 of a private range of /23 or larger: where servers and the load balancer get addresses. */
export function subnetOf(network: string): string {
  const [address] = network.split("/");
  return `${address.split(".").slice(0, 3).join(".")}.0/24`;
}

/**
 * An hcloud Load Balancer in front of an app's hosts. Hetzner load balancers reach targets over public
 * IPv4 or a private network only, never IPv6, so the IPv6-only hosts and the load balancer join a private
 * network of their own and every target uses its private IP. Clients reach the load balancer over its
 * public IPv6 and IPv4; it health-checks each target's app on the private network.
 */
export class LoadBalancer extends pulumi.ComponentResource {
  public readonly ipv4: pulumi.Output<string>;
  public readonly ipv6: pulumi.Output<string>;
  /** Where clients reach the app: `https://<first domain>/`, or `http://[ipv6]:<listen port>/`. */
  public readonly url: pulumi.Output<string>;

  constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    const zone = NETWORK_ZONES[args.location];
    const ipRange = args.network ?? LOAD_BALANCER_DEFAULTS.network;
    const fail = (problem: string) => new Error(`LoadBalancer ${name}: ${problem}`);
    if (zone === undefined) throw fail(`[location] "${args.location}" is not a Hetzner location`);
    if (args.targets.length === 0) throw fail("[targets] must hold at least one server");
    if (!(Number(ipRange.split("/")[1]) <= 23)) throw fail(`[network] ${ipRange} must be /23 or larger`);
    const subnetRange = subnetOf(ipRange);
    super("hcloud-deploy:loadBalancer:LoadBalancer", name, {}, opts);
    const labels = { ...args.labels };
    const domains = args.domains ?? [];
    // Hetzner names are left to Pulumi's autonaming: a replaced certificate or load balancer is created
    // before the old one goes, and a fixed name would collide with it.
    const parent = { parent: this };

    const network = new hcloud.Network(`${name}-network`, { ipRange, labels }, parent);
    const subnet = new hcloud.NetworkSubnet(
      `${name}-subnet`,
      { networkId: network.id.apply(Number), type: "cloud", networkZone: zone, ipRange: subnetRange },
      parent,
    );
    const balancer = new hcloud.LoadBalancer(
      `${name}-balancer`,
      {
        loadBalancerType: args.type ?? LOAD_BALANCER_DEFAULTS.type,
        location: args.location,
        labels,
      },
      parent,
    );
    const balancerId = balancer.id.apply(Number);
    const attachment = new hcloud.LoadBalancerNetwork(
      `${name}-attachment`,
      { loadBalancerId: balancerId, subnetId: subnet.id },
      parent,
    );

    for (const target of args.targets) {
      const serverId = target.serverId.apply(Number);
      const joined = new hcloud.ServerNetwork(
        `${name}-${target.hostName}-attachment`,
        { serverId, subnetId: subnet.id },
        parent,
      );
      // add_target with use_private_ip needs both ends in the network already; no data says so.
      new hcloud.LoadBalancerTarget(
        `${name}-${target.hostName}-target`,
        { type: "server", loadBalancerId: balancerId, serverId, usePrivateIp: true },
        { parent: this, dependsOn: [attachment, joined] },
      );
    }

    const health = args.health;
    const healthCheck = {
      protocol: "http",
      port: args.targetPort,
      interval: health.intervalSeconds ?? LOAD_BALANCER_DEFAULTS.health.intervalSeconds,
      timeout: health.timeoutSeconds ?? LOAD_BALANCER_DEFAULTS.health.timeoutSeconds,
      retries: health.retries ?? LOAD_BALANCER_DEFAULTS.health.retries,
      // Set explicitly: left out, the API's default comes back and every preview shows a diff.
      http: { path: health.path, statusCodes: HEALTHY_STATUS_CODES },
    };
    const service = { loadBalancerId: balancer.id, destinationPort: args.targetPort, healthCheck };
    if (domains.length > 0) {
      // HTTP-01 through the load balancer may land on any host, so the certificate lives here instead.
      const certificate = new hcloud.ManagedCertificate(
        `${name}-certificate`,
        { domainNames: [...domains], labels },
        parent,
      );
      new hcloud.LoadBalancerService(
        `${name}-https`,
        {
          ...service,
          protocol: "https",
          listenPort: 443,
          http: { certificates: [certificate.id.apply(Number)], redirectHttp: true },
        },
        parent,
      );
    } else {
      new hcloud.LoadBalancerService(
        `${name}-http`,
        { ...service, protocol: "http", listenPort: args.listenPort ?? args.targetPort },
        parent,
      );
    }

    this.ipv4 = balancer.ipv4;
    this.ipv6 = balancer.ipv6;
    this.url =
      domains.length > 0
        ? pulumi.output(`https://${domains[0]}/`)
        : pulumi.interpolate`http://[${balancer.ipv6}]:${args.listenPort ?? args.targetPort}/`;
    this.registerOutputs({ ipv4: this.ipv4, ipv6: this.ipv6, url: this.url });
  }
}
