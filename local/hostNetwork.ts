/**
 * The network side of simulated hosts (see the addressing plan in simhost.ts): each host's veth and
 * routes, and the machine-wide pieces every host and registry shares.
 */
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { HARNESS_STATE_ROOT } from "./dockerd";
import { run } from "./exec";

export const HARNESS_PREFIX = "fd5e::/16";
export const HARNESS_SERVICE_ADDRESS = "fd5e:ffff::1";
/** Harness services (registries) live here, in the root namespace; hosts never do. */
export const HARNESS_SERVICE_PREFIX = "fd5e:ffff::/32";
/** The link every simulated host is on (root namespace side: fe80::1, the hosts' gateway). */
export const HARNESS_BRIDGE = "hcd-br0";
export const HARNESS_REGISTRY_HOSTNAME = "registry.hcd.test";
const PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The MAC address of the namespace's eth0: locally administered, unicast, from its name. A VM's NIC keeps
 * its MAC across a reboot, so the neighbours' caches (the root namespace's, other hosts') stay right; a
 * new random one each boot left them sending to the old MAC until their entries went stale (~45 s).
 */
export function linkAddressOf(netns: string): string {
  const bytes = createHash("sha256").update(netns).digest().subarray(0, 5);
  return ["02", ...[...bytes].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

/**
 * A network namespace joined by a veth pair to the harness bridge in the root namespace. Every host is on
 * that one link, so hosts reach each other directly (a delivery's relays), and the root namespace reaches
 * them through the bridge's on-link route for the whole harness prefix; it forwards nothing itself.
 */
export async function plumbNetwork(netns: string, address: string, prefixLength: number): Promise<void> {
  const inHost = (...args: string[]) => run("ip", ["-n", netns, ...args]);
  await run("ip", ["netns", "add", netns]);
  // Without duplicate address detection the addresses are usable at once instead of after ~2 s.
  await run("nsenter", [
    `--net=/run/netns/${netns}`,
    ...["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"],
  ]);
  await run("ip", [
    ...["link", "add", netns, "type", "veth", "peer", "name", "eth0"],
    ...["address", linkAddressOf(netns), "netns", netns],
  ]);
  await run("ip", ["link", "set", netns, "master", HARNESS_BRIDGE]);
  await run("ip", ["link", "set", netns, "up"]);
  await inHost("link", "set", "lo", "up");
  await inHost("link", "set", "eth0", "up");
  await inHost("-6", "addr", "add", `${address}/${prefixLength}`, "dev", "eth0", "nodad");
  await inHost("-6", "route", "add", "default", "via", "fe80::1", "dev", "eth0");
  // Other hosts are neighbours on the link; harness services sit behind the root namespace.
  await inHost("-6", "route", "add", HARNESS_PREFIX, "dev", "eth0");
  await inHost("-6", "route", "add", HARNESS_SERVICE_PREFIX, "via", "fe80::1", "dev", "eth0");
}

/** The root namespace's side of a host's link: what it sends there is what reaches that host. */
export function hostLink(hostName: string): string {
  return `hcd-${hostName}`;
}

/**
 * Shapes what the root namespace sends out of `link` (a host's link, or HARNESS_BRIDGE: the deployer's
 * uplink) with a token bucket of `rate` (tc's notation, e.g. "100mbit"); `null` takes the shaping off.
 */
export async function shapeLink(
  link: string,
  rate: string | null,
  bucket: { burst: string; latency: string } = { burst: "64kb", latency: "200ms" },
): Promise<void> {
  if (rate === null) {
    await run("tc", ["qdisc", "del", "dev", link, "root"], { check: false });
    return;
  }
  await run("tc", [
    ...["qdisc", "replace", "dev", link, "root", "tbf", "rate", rate],
    ...["burst", bucket.burst, "latency", bucket.latency],
  ]);
}

// The service address, the machine's /etc/hosts line and the unreachable route are shared by all hosts and
// registries, also those of other test processes on this machine. Each process registers while it
// uses them and the last live one removes them; flock serialises that between processes, and a
// promise chain within this one.
const NETWORK_USERS_DIR = path.join(HARNESS_STATE_ROOT, "network-users");
const NETWORK_LOCK = path.join(HARNESS_STATE_ROOT, "network.lock");
/** The /etc/hosts line naming the registry: the machine's while the harness runs, and each host's own. */
export const HARNESS_HOSTS_ENTRY = `${HARNESS_SERVICE_ADDRESS} ${HARNESS_REGISTRY_HOSTNAME} # hcloud-deploy-harness`;

const SET_UP_NETWORK = `
set -eu
mkdir -p "$USERS"
touch "$USERS/$OWNER"
ip -6 addr replace "$ADDRESS/128" dev lo nodad
ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge mcast_snooping 0
ip -6 addr replace fe80::1/64 dev "$BRIDGE" nodad
ip link set "$BRIDGE" up
# On-link through the bridge only: a packet for a host that is not running never leaves the machine.
ip -6 route replace "$PREFIX" dev "$BRIDGE"
grep -qxF "$HOSTS_LINE" /etc/hosts || echo "$HOSTS_LINE" >>/etc/hosts
`;

// /etc/hosts is rewritten in place (not replaced) because it may be a bind mount.
const TEAR_DOWN_NETWORK = `
set -eu
rm -f "$USERS/$OWNER"
for user in "$USERS"/*; do
  [ -e "$user" ] || continue
  if kill -0 "\${user##*/}" 2>/dev/null; then exit 0; fi
  rm -f "$user"
done
ip link del "$BRIDGE" 2>/dev/null || true
ip -6 addr del "$ADDRESS/128" dev lo 2>/dev/null || true
kept=$(grep -vxF "$HOSTS_LINE" /etc/hosts || true)
printf '%s\\n' "$kept" >/etc/hosts
`;

let networkUsers = 0;
let networkChanges: Promise<unknown> = Promise.resolve();

export function acquireHarnessNetwork(): Promise<void> {
  return serialiseNetworkChange(async () => {
    if (networkUsers === 0) await runNetworkScript(SET_UP_NETWORK);
    networkUsers++;
  });
}

export function releaseHarnessNetwork(): Promise<void> {
  return serialiseNetworkChange(async () => {
    networkUsers--;
    if (networkUsers === 0) await runNetworkScript(TEAR_DOWN_NETWORK);
  });
}

function serialiseNetworkChange(change: () => Promise<void>): Promise<void> {
  const result = networkChanges.then(change);
  networkChanges = result.catch(() => undefined);
  return result;
}

async function runNetworkScript(script: string): Promise<void> {
  await mkdir(HARNESS_STATE_ROOT, { recursive: true });
  await run("flock", ["--wait", "30", NETWORK_LOCK, "sh", "-c", script], {
    env: {
      PATH: PATH_ENV,
      USERS: NETWORK_USERS_DIR,
      OWNER: String(process.pid),
      ADDRESS: HARNESS_SERVICE_ADDRESS,
      PREFIX: HARNESS_PREFIX,
      BRIDGE: HARNESS_BRIDGE,
      HOSTS_LINE: HARNESS_HOSTS_ENTRY,
    },
  });
}
