import type * as pulumi from "@pulumi/pulumi";

/** How every remote command reaches a host: the host key is always pinned. */
export interface HostConnection {
  /** Bare IPv6 address (pulumi-command takes it without brackets). */
  readonly host: string;
  readonly user: string;
  readonly privateKey: string;
  /** The pinned ed25519 host key ("ssh-ed25519 AAAA…"). */
  readonly hostKey: string;
  readonly dialErrorLimit: number;
  readonly perDialTimeout: number;
}

/**
 * What Delivery and Service need of a machine: HetznerHost implements it, and another program can hand
 * in any server it manages itself. `address` and `connection` resolve only once the machine can take
 * containers (HetznerHost gates them on its readiness check), so whatever is built from them waits.
 */
export interface HostTarget {
  /** Short name used in every message about this host. */
  readonly hostName: string;
  /** Bare IPv6 address the deployer and clients dial. */
  readonly address: pulumi.Output<string>;
  /** The pinned host key line, for known_hosts on the deployer (public). */
  readonly hostKey: pulumi.Output<string>;
  /** Connection for remote commands; secret (holds the private key). */
  readonly connection: pulumi.Output<HostConnection>;
  /** Changes when the machine is replaced: a trigger for everything that lives on it. */
  readonly serverId: pulumi.Output<string>;
}
