import * as net from "net";

const ADDRESS_BITS = 128n;
const NETWORK_PREFIX = 64;

/** 128-bit value of an IPv6 address in hex-group notation (embedded IPv4 is not needed here). */
export function parseIpv6(text: string): bigint | undefined {
  if (!net.isIPv6(text) || text.includes(".")) return undefined;
  const [head, tail] = text.split("::");
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const zeros = Array<string>(8 - headGroups.length - tailGroups.length).fill("0");
  const groups = text.includes("::") ? [...headGroups, ...zeros, ...tailGroups] : headGroups;
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/**
 * RFC 5952 text (lower case, longest run of zero groups compressed, first run on a tie), which is also
 * what Go's net.IP.String() prints: the provider re-formats every address, so ours must already match.
 */
export function formatIpv6(value: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > bestLength) [bestStart, bestLength] = [start, length];
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLength).join(":")}`;
}

/** The /64 networks handed out to IPv6 primary IPs: network N is the pool base plus N × 2^64. */
export interface Ipv6Pool {
  readonly cidr: string;
  /** How many /64 networks the pool holds. */
  readonly size: bigint;
  /** `<network>::/64` of the index-th network. */
  network(index: number): string;
}

export function parseIpv6Pool(cidr: string): Ipv6Pool {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(cidr);
  const base = match ? parseIpv6(match[1]) : undefined;
  if (!match || base === undefined) throw new Error(`IPv6 pool "${cidr}" is not an IPv6 CIDR like fd5e::/32`);
  const prefix = Number(match[2]);
  if (prefix > NETWORK_PREFIX) {
    throw new Error(`IPv6 pool "${cidr}" must be /64 or larger to hold /64 networks`);
  }
  if (base & ((1n << (ADDRESS_BITS - BigInt(prefix))) - 1n)) {
    throw new Error(`IPv6 pool "${cidr}" has host bits set; use its network address`);
  }
  const size = 1n << BigInt(NETWORK_PREFIX - prefix);
  return {
    cidr,
    size,
    network(index: number): string {
      if (BigInt(index) >= size) throw new Error(`IPv6 pool ${cidr} has no network number ${index}`);
      return `${formatIpv6(base + (BigInt(index) << BigInt(NETWORK_PREFIX)))}/${NETWORK_PREFIX}`;
    },
  };
}

/** `<network>::1`, the address the provider reports as a server's ipv6_address. */
export function firstHostAddress(networkCidr: string): string {
  const base = parseIpv6(networkCidr.split("/")[0]);
  if (base === undefined) throw new Error(`"${networkCidr}" is not an IPv6 network`);
  return formatIpv6(base + 1n);
}

/** A firewall rule address: IPv4 or IPv6 address with a prefix length that fits its family. */
export function isCidr(text: string): boolean {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!match) return false;
  const family = net.isIP(match[1]);
  return family !== 0 && Number(match[2]) <= (family === 4 ? 32 : 128);
}
