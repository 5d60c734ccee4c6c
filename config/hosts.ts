import * as net from "net";
import { ConfigNode, node, RawConfig, requireUnique } from "./reader";
import { DEFAULTS, HostConfig, LOCATIONS } from "./types";

const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

/** Unset stays unset: the host keeps what it was created with, or gets today's default (hostSpecs.ts). */
function optional(n: ConfigNode, pattern: RegExp, what: string): string | undefined {
  return n.present ? n.matching(pattern, what) : undefined;
}

function parseHost(n: ConfigNode): HostConfig {
  const host: HostConfig = {
    name: n.field("name").matching(HOST_NAME, "a lowercase hostname label of at most 32 characters"),
    location: n.field("location").oneOf(LOCATIONS),
    serverType: optional(n.field("serverType"), /^[a-z0-9-]+$/, "a Hetzner server type"),
    image: optional(n.field("image"), /^[a-z0-9.-]+$/, "a Hetzner image name"),
    generation: n.field("generation").integer(1, 1_000_000, DEFAULTS.generation),
    dns64Servers: n
      .field("dns64Servers")
      .optionalItems()
      .map((s) => {
        const address = s.string();
        if (!net.isIPv6(address)) s.fail(`"${address}" is not an IPv6 address`);
        return address;
      }),
  };
  n.done();
  return host;
}

/** The servers of stack config: at least one, unique names. */
export function parseHosts(raw: RawConfig): HostConfig[] {
  const list = node(raw, "hosts");
  if (!list.present) list.fail("is required: list at least one host");
  const nodes = list.items();
  if (nodes.length === 0) list.fail("must list at least one host");
  const hosts = nodes.map(parseHost);
  requireUnique(hosts, nodes, (h) => h.name, "host name");
  return hosts;
}
