import { NETWORK_ZONES } from "../components/loadBalancer";
import { zoneSubnets } from "../components/privateNetwork";
import { APP_NETWORK } from "../components/shell/prelude";
import { overlaps, parsePrivateRange } from "./loadBalancer";
import { ConfigNode, node, RawConfig } from "./reader";
import { AppConfig, DEFAULTS, HostConfig } from "./types";

/**
 * `<app>.internal`: every app with a plain-HTTP route (a hostPort) is reached under that name from the
 * containers of the stack's other apps, on its hostPort, through the proxy of a host that runs it: the
 * caller's own host over the apps' network when the app runs there, else the app's hosts over the stack's
 * private network (each Hetzner network zone has a subnet of its own; traffic never leaves a zone).
 */

export const INTERNAL_SUFFIX = ".internal";

/** `name.internal` and `name.internal:port` in a value; port undefined when the value names none. */
const REFERENCE = /(?<![a-z0-9.-])([a-z][a-z0-9-]{0,30})\.internal(?![a-z0-9-]|\.[a-z0-9])(?::(\d+))?/g;

type NamedApp = Pick<AppConfig, "name" | "hosts" | "hostPort" | "env">;

function zoneOf(hosts: readonly HostConfig[], name: string): string {
  return NETWORK_ZONES[(hosts.find((h) => h.name === name) as HostConfig).location];
}

/**
 * The network zones the stack's private network needs a subnet in: those of its hosts, when it has more
 * than one host (one host has nobody to talk to).
 */
export function privateNetworkZones(hosts: readonly HostConfig[]): string[] {
  if (hosts.length < 2) return [];
  return [...new Set(hosts.map((h) => NETWORK_ZONES[h.location]))];
}

/**
 * `privateNetwork`: the stack network's range. It must hold a /24 for each network zone with hosts, and
 * stay clear of the load balancers' networks, which the same hosts join.
 */
export function parsePrivateNetwork(
  raw: RawConfig,
  hosts: readonly HostConfig[],
  apps: readonly Pick<AppConfig, "name" | "loadBalancer">[],
): string {
  const n = node(raw, "privateNetwork");
  const range = parsePrivateRange(n, DEFAULTS.privateNetwork);
  try {
    zoneSubnets(range, privateNetworkZones(hosts));
  } catch (err) {
    n.fail((err as Error).message);
  }
  for (const app of apps) {
    if (
      app.loadBalancer &&
      privateNetworkZones(hosts).length > 0 &&
      overlaps(range, app.loadBalancer.network)
    ) {
      n.fail(
        `${range} overlaps the load balancer network ${app.loadBalancer.network} of app "${app.name}"; the ` +
          "hosts join both, so give one of them another range",
      );
    }
  }
  return range;
}

/**
 * Every `<app>.internal` in an app's env must name an app with a hostPort, on that port, with a host in the
 * network zone of each of the caller's hosts; the first one that does not fails, naming its env key.
 */
export function checkInternalNames(
  apps: readonly NamedApp[],
  nodes: ConfigNode[],
  hosts: readonly HostConfig[],
): void {
  apps.forEach((caller, i) => {
    for (const [key, value] of Object.entries(caller.env)) {
      for (const [, name, port] of value.matchAll(REFERENCE)) {
        const at = nodes[i].field("env").field(key);
        const said = `"${name}${INTERNAL_SUFFIX}${port ? `:${port}` : ""}"`;
        const callee = apps.find((a) => a.name === name) ?? at.fail(`${said} names no app of the stack`);
        if (callee.hostPort === undefined) {
          at.fail(
            `${said}: app "${name}" has no hostPort, and ${INTERNAL_SUFFIX} names reach an app through its ` +
              `hosts' proxy on its hostPort; give it one (public: false keeps it off the internet), or on its ` +
              `own host use ${name}:<port> on the apps' network`,
          );
        }
        if (port !== undefined && Number(port) !== callee.hostPort) {
          at.fail(`${said}: app "${name}" is reached on its hostPort, ${callee.hostPort}`);
        }
        for (const host of caller.hosts) {
          const zone = zoneOf(hosts, host);
          const reachable = callee.hosts.some((h) => h === host || zoneOf(hosts, h) === zone);
          if (!reachable) {
            at.fail(
              `${said}: app "${name}" runs on no host in network zone ${zone}, where "${caller.name}" runs on ` +
                `host "${host}" (private networks do not cross zones)`,
            );
          }
        }
      }
    }
  });
}

/**
 * The addresses `<app>.internal` resolves to in the containers of an app on host `hostName`: for each other
 * app with a hostPort, the apps' network's host address when it runs there too, then the private IPs of its
 * hosts in the same network zone. Apps with nowhere to go are left out.
 */
export function internalHostsOf(
  caller: string,
  hostName: string,
  apps: readonly Pick<AppConfig, "name" | "hosts" | "hostPort">[],
  hosts: readonly HostConfig[],
  privateIps: Readonly<Record<string, string | undefined>>,
): Record<string, string[]> {
  const zone = zoneOf(hosts, hostName);
  const entries = apps.flatMap((app) => {
    if (app.name === caller || app.hostPort === undefined) return [];
    const local = app.hosts.includes(hostName) ? [APP_NETWORK.ipv4Gateway] : [];
    const remote = app.hosts
      .filter((h) => h !== hostName && zoneOf(hosts, h) === zone)
      .flatMap((h) => (privateIps[h] ? [privateIps[h] as string] : []));
    const addresses = [...local, ...remote];
    return addresses.length > 0 ? [[`${app.name}${INTERNAL_SUFFIX}`, addresses] as const] : [];
  });
  return Object.fromEntries(entries);
}
