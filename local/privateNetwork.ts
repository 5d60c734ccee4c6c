/**
 * A simulated hcloud private network: a bridge in a network namespace of its own, with a veth into each
 * member's namespace (simulated host or load balancer) carrying the member's private IPv4. The
 * namespace has no address and no link to the root namespace, so nothing on it can reach the machine's
 * uplink: members reach each other and nothing else.
 */
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { HARNESS_STATE_ROOT } from "./dockerd";
import { claimOwnership, killQuietly, liveOwnerOf, once, run, waitUntil } from "./exec";

export interface NetworkMember {
  /** Unique in the network, [a-z0-9]{1,12}: names the bridge port. */
  key: string;
  /** The member's network namespace (`ip netns` name). */
  netns: string;
  /** Its private IPv4 address. */
  ip: string;
}

export interface SimNetwork {
  readonly netns: string;
  /** Plugs members in and out until exactly these are plugged, each with its address. */
  apply(members: NetworkMember[]): Promise<void>;
  /** Idempotent: removes the namespace (and with it every veth) and the state dir. */
  stop(): Promise<void>;
}

export interface SimNetworkSpec {
  /** [a-z0-9-]{1,10}; the namespace is "hcd-<name>". */
  name: string;
  /** The network's range, e.g. 10.0.0.0/16: members' addresses get its prefix, so all are on-link. */
  ipRange: string;
  /** Names the interface in each member's namespace; at most 15 characters. */
  interfaceName: string;
}

const BRIDGE = "br0";

/**
 * The member side's MAC address, from its private IPv4: locally administered, unicast. Hetzner routes a
 * network through its gateway, so a server that takes over an address (a replaced host) is reached at
 * once; on this flat bridge the other members would keep sending to the old MAC until their neighbour
 * entries failed (several seconds), unless the address keeps its MAC.
 */
export function memberMacOf(ip: string): string {
  const hex = ip.split(".").map((octet) => Number(octet).toString(16).padStart(2, "0"));
  return ["02", "00", ...hex].join(":");
}

async function removeLeftovers(netns: string): Promise<void> {
  // A bridge namespace runs no processes, but a crashed run may have left one behind.
  const pids = (await run("ip", ["netns", "pids", netns], { check: false })).stdout
    .split(/\s+/)
    .filter(Boolean);
  pids.forEach((pid) => killQuietly(Number(pid)));
  await run("ip", ["netns", "del", netns], { check: false });
}

export async function startSimNetwork(spec: SimNetworkSpec): Promise<SimNetwork> {
  if (!/^[a-z0-9-]{1,10}$/.test(spec.name))
    throw new Error(`Invalid network name ${JSON.stringify(spec.name)}`);
  if (spec.interfaceName.length > 15) throw new Error(`Interface name ${spec.interfaceName} is too long`);
  const netns = `hcd-${spec.name}`;
  const stateDir = path.join(HARNESS_STATE_ROOT, "networks", spec.name);
  const owner = await liveOwnerOf(stateDir);
  if (owner !== undefined)
    throw new Error(`Network ${spec.name} belongs to live process ${owner} (${stateDir})`);
  const prefix = spec.ipRange.split("/")[1];
  const inBridge = (...args: string[]) => run("ip", ["-n", netns, ...args]);
  const plugged = new Map<string, NetworkMember>();

  const stop = once(async () => {
    await run("ip", ["netns", "del", netns], { check: false });
    await rm(stateDir, { recursive: true, force: true });
  });
  try {
    await removeLeftovers(netns);
    await mkdir(stateDir, { recursive: true });
    await claimOwnership(stateDir);
    await run("ip", ["netns", "add", netns]);
    await inBridge("link", "set", "lo", "up");
    await inBridge("link", "add", BRIDGE, "type", "bridge");
    await inBridge("link", "set", BRIDGE, "up");
  } catch (err) {
    await stop();
    throw err;
  }

  const portExists = async (key: string) =>
    (await run("ip", ["-n", netns, "link", "show", key], { check: false })).code === 0;

  async function unplug(key: string): Promise<void> {
    // Deleting one end deletes the pair; the member's side may already be gone with its namespace.
    await run("ip", ["-n", netns, "link", "del", key], { check: false });
    plugged.delete(key);
  }

  async function plug(member: NetworkMember): Promise<void> {
    await unplug(member.key);
    const inMember = (...args: string[]) => run("ip", ["-n", member.netns, ...args]);
    await inMember("link", "del", spec.interfaceName).catch(() => undefined);
    await inBridge(
      "link",
      "add",
      member.key,
      "type",
      "veth",
      "peer",
      "name",
      spec.interfaceName,
      "address",
      memberMacOf(member.ip),
      "netns",
      member.netns,
    );
    await inMember("addr", "add", `${member.ip}/${prefix}`, "dev", spec.interfaceName);
    await inMember("link", "set", spec.interfaceName, "up");
    await inBridge("link", "set", member.key, "master", BRIDGE, "up");
    await waitUntil(
      async () =>
        (
          await run("ip", ["-n", member.netns, "-4", "addr", "show", "dev", spec.interfaceName])
        ).stdout.includes(member.ip),
      5000,
      async () => `${member.ip} did not come up on ${spec.interfaceName} in ${member.netns}`,
    );
    plugged.set(member.key, member);
  }

  return {
    netns,
    async apply(members) {
      const wanted = new Map(members.map((m) => [m.key, m]));
      for (const key of [...plugged.keys()].filter((k) => !wanted.has(k))) await unplug(key);
      for (const member of members) {
        const current = plugged.get(member.key);
        // A restarted host has a new namespace: its old veth went with the old one.
        const intact =
          current &&
          current.netns === member.netns &&
          current.ip === member.ip &&
          (await portExists(member.key));
        if (!intact) await plug(member);
      }
    },
    stop,
  };
}
