import type { SimHost, SimHostSpec } from "../simhost";
import { parseCloudInit } from "./cloudInit";
import { HostBackend, HostSpec } from "./hostBackend";

/** Packages whose unit a simulated host can run (the others are the machine's, or not services). */
const SUPERVISED_PACKAGES = ["caddy"];

export type StartSimHost = (spec: SimHostSpec) => Promise<SimHost>;

export interface SimHostBackendOptions {
  /** Registries the hosts' dockerd may reach over plain HTTP (the local test registry). */
  insecureRegistries?: string[];
  /** Distinguishes the hosts of two emulators on one machine (the local stack and the e2e test). */
  hostNamePrefix?: string;
}

/**
 * Simulated host names become network namespace and veth names, which allow only [a-z0-9-]{1,10}; server
 * names are longer (Pulumi appends 7 characters), so the host is named after the server ID instead.
 */
export function simHostName(serverId: number, prefix = "s"): string {
  return `${prefix}${serverId}`;
}

/** The host spec for a server; throws with every reason its cloud-init cannot bring one up. */
export function simHostSpecOf(server: HostSpec, options: SimHostBackendOptions = {}): SimHostSpec {
  const parsed = parseCloudInit(server.userData);
  if (!parsed.ok) {
    throw new Error(
      `cloud-init of server ${server.name} cannot bring up a host: ${parsed.problems.join("; ")}`,
    );
  }
  return {
    name: simHostName(server.id, options.hostNamePrefix),
    address: server.address,
    prefixLength: server.prefixLength,
    authorizedKeys: [...new Set([...server.authorizedKeys, ...parsed.config.authorizedKeys])],
    hostKey: parsed.config.hostKey,
    insecureRegistries: options.insecureRegistries,
    files: parsed.config.files,
    // Installing caddy enables its unit, as the Debian package does.
    enabledUnits: parsed.config.packages.filter((p) => SUPERVISED_PACKAGES.includes(p)),
  };
}

/** Puts a simulated IPv6-only host (local/simhost.ts) behind every server. */
export class SimHostBackend implements HostBackend {
  private readonly hosts = new Map<number, SimHost>();

  constructor(
    private readonly start: StartSimHost,
    private readonly options: SimHostBackendOptions = {},
  ) {}

  async create(server: HostSpec): Promise<void> {
    const host = await this.start(simHostSpecOf(server, this.options));
    this.hosts.set(server.id, host);
    // sshd and Docker are up: that is what this host's cloud-init amounts to, so it has finished.
    await host.exec("mkdir -p /var/lib/cloud/instance && touch /var/lib/cloud/instance/boot-finished");
  }

  /** The namespace of the server's running host, where its private networks plug in. */
  netnsOf(serverId: number): string | undefined {
    return this.hosts.get(serverId)?.netns;
  }

  async delete(serverId: number): Promise<void> {
    const host = this.hosts.get(serverId);
    this.hosts.delete(serverId);
    await host?.stop();
  }

  async close(): Promise<void> {
    const hosts = [...this.hosts.values()];
    this.hosts.clear();
    await Promise.all(hosts.map((host) => host.stop()));
  }
}
