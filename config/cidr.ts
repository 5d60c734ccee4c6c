import * as net from "net";

/** Expands an IPv6 address into its 128-bit value, or returns undefined when it is not one. */
function ipv6ToBigInt(address: string): bigint | undefined {
  if (net.isIPv6(address) === false) return undefined;
  let text = address;
  const embedded = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (embedded) {
    const v4 = ipv4ToBigInt(embedded[1]);
    if (v4 === undefined) return undefined;
    text = text.slice(0, -embedded[1].length) + `${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split("::");
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = text.includes("::")
    ? [...headGroups, ...Array(missing).fill("0"), ...tailGroups]
    : headGroups;
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
}

function ipv4ToBigInt(address: string): bigint | undefined {
  if (net.isIPv4(address) === false) return undefined;
  return address.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

export interface Cidr {
  family: 4 | 6;
  address: string;
  prefixLength: number;
}

/**
 * Parses "address/prefix" and insists on a network address (host bits zero), because the Hetzner API
 * refuses anything else and a typo like 2001:db8::1/32 usually means the author meant something else.
 */
export function parseCidr(text: string): Cidr {
  const match = /^([^/\s]+)\/(\d{1,3})$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a CIDR (expected address/prefix)`);
  const [, address, prefixText] = match;
  const family = net.isIP(address);
  if (family !== 4 && family !== 6) throw new Error(`"${address}" in "${text}" is not an IP address`);
  const bits = family === 4 ? 32 : 128;
  const prefixLength = Number(prefixText);
  if (prefixLength > bits)
    throw new Error(`prefix /${prefixLength} in "${text}" is longer than ${bits} bits`);
  const value = (family === 4 ? ipv4ToBigInt(address) : ipv6ToBigInt(address)) as bigint;
  const hostMask = (1n << BigInt(bits - prefixLength)) - 1n;
  if ((value & hostMask) !== 0n) throw new Error(`"${text}" has host bits set; use its network address`);
  return { family, address, prefixLength };
}
