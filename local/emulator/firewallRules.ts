import { invalidInput } from "./errors";
import { isCidr } from "./ipv6";
import { FirewallRule } from "./state";

const PROTOCOLS_WITH_PORTS = new Set(["tcp", "udp"]);
const PROTOCOLS = new Set(["tcp", "udp", "icmp", "esp", "gre"]);
const MAX_RULES = 50;

function isPortOrRange(port: string): boolean {
  if (port === "any") return true;
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(port);
  if (!match) return false;
  const first = Number(match[1]);
  const last = Number(match[2] ?? match[1]);
  return first >= 1 && last <= 65535 && first <= last;
}

function readIps(rule: Record<string, unknown>, key: string, field: string): string[] {
  const value = rule[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((ip) => typeof ip === "string")) {
    throw invalidInput(field, "must be an array of CIDR strings");
  }
  const bad = value.find((ip) => !isCidr(ip));
  if (bad !== undefined) throw invalidInput(field, `"${bad}" is not a CIDR`);
  return value;
}

function readRule(value: unknown, index: number): FirewallRule {
  const field = (name: string) => `rules[${index}].${name}`;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalidInput(`rules[${index}]`, "must be an object");
  }
  const rule = value as Record<string, unknown>;
  const { direction, protocol, port, description } = rule;
  if (direction !== "in" && direction !== "out") {
    throw invalidInput(field("direction"), 'must be "in" or "out"');
  }
  if (typeof protocol !== "string" || !PROTOCOLS.has(protocol)) {
    throw invalidInput(field("protocol"), "must be one of tcp, udp, icmp, esp, gre");
  }
  const needsPort = PROTOCOLS_WITH_PORTS.has(protocol);
  if (needsPort && (typeof port !== "string" || !isPortOrRange(port))) {
    throw invalidInput(field("port"), `is required for ${protocol}: a port, a range like 80-85, or "any"`);
  }
  if (!needsPort && port !== undefined && port !== null) {
    throw invalidInput(field("port"), `must not be set for ${protocol}`);
  }
  if (
    description !== undefined &&
    description !== null &&
    (typeof description !== "string" || description.length > 255)
  ) {
    throw invalidInput(field("description"), "must be a string of at most 255 characters");
  }
  const sourceIps = readIps(rule, "source_ips", field("source_ips"));
  const destinationIps = readIps(rule, "destination_ips", field("destination_ips"));
  const [peerField, peers] =
    direction === "in" ? ["source_ips", sourceIps] : ["destination_ips", destinationIps];
  if (peers.length === 0) throw invalidInput(field(peerField), `is required for direction "${direction}"`);
  return {
    direction,
    protocol,
    port: needsPort ? (port as string) : null,
    source_ips: sourceIps,
    destination_ips: destinationIps,
    description: (description as string | undefined) ?? null,
  };
}

/** Validates a `rules` array and returns it in the echo form: unused IP list `[]`, absent port/description null. */
export function readFirewallRules(value: unknown): FirewallRule[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidInput("rules", "must be an array");
  if (value.length > MAX_RULES) throw invalidInput("rules", `must not have more than ${MAX_RULES} rules`);
  return value.map(readRule);
}
