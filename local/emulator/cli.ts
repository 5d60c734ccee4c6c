import { parseArgs } from "util";
import { DEFAULT_IPV6_POOL } from "./emulator";

export interface CliOptions {
  port: number;
  listen: string;
  token: string | undefined;
  stateFile: string | undefined;
  hosts: "sim" | "none";
  ipv6Pool: string;
  insecureRegistries: string[];
}

export const USAGE =
  "usage: main.ts [--port 4567] [--listen 127.0.0.1] [--token <64 chars>] [--state <file.json>] " +
  `[--hosts sim|none] [--ipv6-pool ${DEFAULT_IPV6_POOL}] [--insecure-registry <host:port>]...`;

/** Throws with a message naming the bad flag; parseArgs itself rejects unknown flags. */
export function parseCli(argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      port: { type: "string", default: "4567" },
      listen: { type: "string", default: "127.0.0.1" },
      token: { type: "string" },
      state: { type: "string" },
      hosts: { type: "string", default: "sim" },
      "ipv6-pool": { type: "string", default: DEFAULT_IPV6_POOL },
      "insecure-registry": { type: "string", multiple: true, default: [] },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port "${values.port}" is not a port number`);
  }
  if (values.token !== undefined && values.token.length !== 64) {
    throw new Error("--token must be exactly 64 characters, like every token the hcloud provider accepts");
  }
  if (values.hosts !== "sim" && values.hosts !== "none") {
    throw new Error(`--hosts must be "sim" or "none", not "${values.hosts}"`);
  }
  return {
    port,
    listen: values.listen,
    token: values.token,
    stateFile: values.state,
    hosts: values.hosts,
    ipv6Pool: values["ipv6-pool"],
    insecureRegistries: values["insecure-registry"],
  };
}
