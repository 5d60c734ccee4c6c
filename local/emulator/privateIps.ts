import * as net from "net";
import { ApiError, invalidInput } from "./errors";
import { NetworkRecord, SubnetRecord } from "./state";

/** IPv4 ranges of private networks: the arithmetic the API does on `ip_range`, `ip` and subnets. */

export interface Ipv4Range {
  base: number;
  prefix: number;
}

export function ipv4ToNumber(address: string): number {
  return address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** A network address with prefix, host bits zero; undefined for anything else. */
export function parseIpv4Range(text: string): Ipv4Range | undefined {
  const match = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  if (!match || !net.isIPv4(match[1]) || Number(match[2]) > 32) return undefined;
  const base = ipv4ToNumber(match[1]);
  const prefix = Number(match[2]);
  return base % 2 ** (32 - prefix) === 0 ? { base, prefix } : undefined;
}

function size(range: Ipv4Range): number {
  return 2 ** (32 - range.prefix);
}

export function rangeContains(outer: Ipv4Range, inner: Ipv4Range): boolean {
  return outer.base <= inner.base && inner.base + size(inner) <= outer.base + size(outer);
}

export function rangesOverlap(a: Ipv4Range, b: Ipv4Range): boolean {
  return a.base < b.base + size(b) && b.base < a.base + size(a);
}

export function addressIn(range: Ipv4Range, address: string): boolean {
  const value = ipv4ToNumber(address);
  return range.base <= value && value < range.base + size(range);
}

/** The API's network-wide gateway: the first address of the network's range. */
export function gatewayOf(network: NetworkRecord): string {
  return numberToIpv4((parseIpv4Range(network.ipRange) as Ipv4Range).base + 1);
}

/**
 * The address a server or load balancer gets in a subnet: the requested one if it is usable and free,
 * else the lowest free one (never the subnet's network or broadcast address, nor the gateway).
 */
export function allocateIp(network: NetworkRecord, subnet: SubnetRecord, requested?: string): string {
  const range = parseIpv4Range(subnet.ipRange) as Ipv4Range;
  const taken = new Set([gatewayOf(network), ...network.attachments.map((a) => a.ip)]);
  const first = range.base + 1;
  const last = range.base + size(range) - 2;
  if (requested !== undefined) {
    const value = net.isIPv4(requested) ? ipv4ToNumber(requested) : NaN;
    if (!(value >= first && value <= last)) {
      throw invalidInput("ip", `${requested} is not a usable address of subnet ${subnet.ipRange}`);
    }
    if (taken.has(requested)) throw new ApiError(422, "ip_not_available", `${requested} is already in use`);
    return requested;
  }
  for (let value = first; value <= last; value++) {
    const address = numberToIpv4(value);
    if (!taken.has(address)) return address;
  }
  throw new ApiError(422, "no_subnet_available", `subnet ${subnet.ipRange} has no free address`);
}

/** The subnet to join: the one holding `ip`, the one named by `ip_range`, or the last one by range. */
export function chooseSubnet(network: NetworkRecord, ip?: string, ipRange?: string): SubnetRecord {
  const subnets = [...network.subnets].sort(
    (a, b) => (parseIpv4Range(a.ipRange) as Ipv4Range).base - (parseIpv4Range(b.ipRange) as Ipv4Range).base,
  );
  const found =
    ipRange !== undefined
      ? subnets.find((s) => s.ipRange === ipRange)
      : ip !== undefined
        ? subnets.find((s) => addressIn(parseIpv4Range(s.ipRange) as Ipv4Range, ip))
        : subnets[subnets.length - 1];
  if (!found) {
    throw new ApiError(
      422,
      "no_subnet_available",
      `network ${network.id} has no subnet${ipRange ? ` ${ipRange}` : ip ? ` holding ${ip}` : ""}`,
    );
  }
  return found;
}
