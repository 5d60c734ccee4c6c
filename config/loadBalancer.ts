import { NETWORK_ZONES } from "../components/loadBalancer";
import { parseCidr } from "./cidr";
import { ConfigNode } from "./reader";
import { AppConfig, DEFAULTS, HostConfig, LoadBalancerConfig, LOCATIONS } from "./types";

/** An app's `loadBalancer`: which hosts share one address (its `domains` are in serving.ts). */

const LB_TYPE = /^lb\d+$/;
const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];
const DOCKER_BRIDGE = "172.17.0.0/16";

/** The load balancer as written; its location defaults to the first host's, known once hosts are checked. */
export interface LoadBalancerDraft {
  readonly type: string;
  readonly location?: string;
  readonly network: string;
}

function ipv4Value(address: string): number {
  return address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function rangeOf(cidr: string): [number, number] {
  const [address, prefix] = cidr.split("/");
  const start = ipv4Value(address);
  return [start, start + 2 ** (32 - Number(prefix)) - 1];
}

function contains(outer: string, inner: string): boolean {
  const [a, b] = rangeOf(outer);
  const [c, d] = rangeOf(inner);
  return a <= c && d <= b;
}

export function overlaps(x: string, y: string): boolean {
  const [a, b] = rangeOf(x);
  const [c, d] = rangeOf(y);
  return a <= d && c <= b;
}

/** A private IPv4 range of /23 or larger, clear of Docker's default bridge: `fallback` when absent. */
export function parsePrivateRange(n: ConfigNode, fallback: string): string {
  const text = n.string(fallback);
  let cidr;
  try {
    cidr = parseCidr(text);
  } catch (err) {
    return n.fail((err as Error).message);
  }
  if (cidr.family !== 4 || !PRIVATE_RANGES.some((range) => contains(range, text))) {
    n.fail(`"${text}" is not a private IPv4 range (inside ${PRIVATE_RANGES.join(", ")})`);
  }
  if (cidr.prefixLength > 23) n.fail(`"${text}" is too small: use /23 or larger (servers get a /24 of it)`);
  // Docker's default bridge on every host: the host could not tell the two apart.
  if (overlaps(text, DOCKER_BRIDGE))
    n.fail(`"${text}" overlaps Docker's default bridge ${DOCKER_BRIDGE} on the hosts`);
  return text;
}

/** `true`, or `{ type, location, network }`; absent or `false` means no load balancer. */
export function parseLoadBalancer(n: ConfigNode): LoadBalancerDraft | undefined {
  if (!n.present || n.value === false || n.value === "false") return undefined;
  if (n.value === true || n.value === "true") {
    return { type: DEFAULTS.loadBalancerType, network: DEFAULTS.loadBalancerNetwork };
  }
  if (typeof n.value !== "object" || Array.isArray(n.value)) {
    n.fail("must be true or an object { type, location, network }");
  }
  const location = n.field("location");
  const draft = {
    type: n
      .field("type")
      .matching(LB_TYPE, 'a Hetzner load balancer type such as "lb11"', DEFAULTS.loadBalancerType),
    location: location.present ? location.oneOf(LOCATIONS) : undefined,
    network: parsePrivateRange(n.field("network"), DEFAULTS.loadBalancerNetwork),
  };
  n.done();
  return draft;
}

/**
 * Fills in the default location and checks what needs the whole config: a load balancer reaches only
 * hosts in its network zone, and a host cannot sit in two overlapping private networks.
 */
export function resolveLoadBalancers(
  apps: Omit<AppConfig, "loadBalancer">[],
  drafts: (LoadBalancerDraft | undefined)[],
  nodes: ConfigNode[],
  hosts: HostConfig[],
): (LoadBalancerConfig | undefined)[] {
  const resolved = drafts.map((draft, i) => {
    if (!draft) return undefined;
    const app = apps[i];
    const locationKey = new ConfigNode(`${nodes[i].key}.loadBalancer.location`, draft.location);
    const hostOf = (name: string) => hosts.find((h) => h.name === name) as HostConfig;
    const location = draft.location ?? hostOf(app.hosts[0]).location;
    const zone = NETWORK_ZONES[location];
    for (const name of app.hosts) {
      const host = hostOf(name);
      if (NETWORK_ZONES[host.location] !== zone) {
        locationKey.fail(
          `host "${name}" is in ${host.location} (${NETWORK_ZONES[host.location]}), but a load balancer in ` +
            `${location} reaches only hosts in ${zone}`,
        );
      }
    }
    return { type: draft.type, location, network: draft.network };
  });
  resolved.forEach((lb, i) => {
    if (!lb) return;
    resolved.slice(0, i).forEach((other, j) => {
      const shared = other && apps[i].hosts.find((h) => apps[j].hosts.includes(h));
      if (shared && overlaps(lb.network, other.network)) {
        new ConfigNode(`${nodes[i].key}.loadBalancer.network`, lb.network).fail(
          `${lb.network} overlaps the network of app "${apps[j].name}", which shares host "${shared}"; ` +
            "give this one another range, e.g. 10.1.0.0/16",
        );
      }
    });
  });
  return resolved;
}
