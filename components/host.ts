import * as command from "@pulumi/command";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { renderCloudInit } from "./cloudInit";
import { HostConfig, HostReplacementPolicy } from "./config";
import { SshHostKey } from "./hostKey";
import { readinessScript } from "./shell/readiness";

/** How every other component reaches a host: pinned host key always set. */
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

/** Firewall rules: SSH from the allowed CIDRs, the app ports from anywhere, ICMPv6, nothing else. */
export function firewallRules(sshAllowedCidrs: readonly string[], openPorts: readonly number[]) {
  const anywhere = ["::/0"];
  return [
    { direction: "in", protocol: "tcp", port: "22", sourceIps: [...sshAllowedCidrs], description: "ssh" },
    { direction: "in", protocol: "icmp", sourceIps: anywhere, description: "icmpv6" },
    ...[...openPorts]
      .sort((a, b) => a - b)
      .map((port) => ({
        direction: "in",
        protocol: "tcp",
        port: String(port),
        sourceIps: anywhere,
        description: `app ${port}`,
      })),
  ];
}

export interface HetznerHostArgs {
  /** The host entry from stack config (name, location, server type, image, generation, DNS64). */
  readonly host: HostConfig;
  /** Hetzner server name; must be unique in the Hetzner project. */
  readonly serverName: string;
  /** ID of the hcloud.SshKey authorised for root. */
  readonly sshKeyId: pulumi.Input<string>;
  /** Deployer's private key for every connection to the host (secret). */
  readonly sshPrivateKey: pulumi.Input<string>;
  /** Source CIDRs allowed to reach port 22. */
  readonly sshAllowedCidrs: readonly string[];
  /** TCP ports the apps on this host publish. Default: none. */
  readonly openPorts?: readonly number[];
  /** What may replace the server: any user-data/key change, or only a generation bump. */
  readonly replacementPolicy: HostReplacementPolicy;
  /** Upper bound for cloud-init and Docker to come up, in seconds. */
  readonly readinessTimeoutSeconds: number;
  /** Labels for every Hetzner resource (project and stack at least). */
  readonly labels: Record<string, string>;
}

/**
 * An IPv6-only Hetzner server that is ready to run containers: primary IPv6 that survives replacement,
 * firewall attached at creation, cloud-init with a pinned host key, and a readiness gate.
 */
export class HetznerHost extends pulumi.ComponentResource {
  /** The server's IPv6 address (`<network>::1`). */
  public readonly ipv6Address: pulumi.Output<string>;
  /** Connection for remote commands and SSH from the deployer; secret (holds the private key). */
  public readonly connection: pulumi.Output<HostConnection>;
  /** The pinned host key line, for known_hosts on the deployer (public, not secret). */
  public readonly hostKey: pulumi.Output<string>;
  public readonly serverId: pulumi.Output<string>;
  /** Resolves once the host answered the readiness gate; depend on it before touching the host. */
  public readonly ready: pulumi.Output<string>;

  constructor(name: string, args: HetznerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hcloud-deploy:host:HetznerHost", name, {}, opts);
    const { host } = args;
    const labels = { ...args.labels, host: host.name };

    const hostKey = new SshHostKey(`${name}-host-key`, { comment: args.serverName }, { parent: this });

    // A primary IP outlives the server, so a replaced host keeps its address (and DNS records stay right).
    const primaryIp = new hcloud.PrimaryIp(
      `${name}-ipv6`,
      { type: "ipv6", location: host.location, autoDelete: false, labels },
      { parent: this },
    );

    const firewall = new hcloud.Firewall(
      `${name}-firewall`,
      { rules: firewallRules(args.sshAllowedCidrs, args.openPorts ?? []), labels },
      { parent: this },
    );

    const userData = pulumi.all([hostKey.publicKey, hostKey.privateKey]).apply(([publicKey, privateKey]) =>
      renderCloudInit({
        hostKey: { publicKey, privateKey },
        generation: host.generation,
        dns64Servers: host.dns64Servers,
      }),
    );

    const server = new hcloud.Server(
      `${name}-server`,
      {
        name: args.serverName,
        serverType: host.serverType,
        image: host.image,
        location: host.location,
        sshKeys: [args.sshKeyId],
        userData: pulumi.secret(userData),
        publicNets: [{ ipv4Enabled: false, ipv6Enabled: true, ipv6: primaryIp.id.apply(Number) }],
        firewallIds: [firewall.id.apply(Number)],
        labels,
      },
      { parent: this, ...replacementOptions(args.replacementPolicy, host.generation) },
    );

    this.ipv6Address = server.ipv6Address;
    this.hostKey = hostKey.publicKey;
    this.serverId = server.id;
    this.connection = pulumi.secret(
      pulumi
        .all([server.ipv6Address, args.sshPrivateKey, hostKey.publicKey])
        .apply(([address, privateKey, publicKey]) => ({
          host: address,
          user: "root",
          privateKey,
          hostKey: publicKey,
          // A fresh server takes a minute or two before sshd answers.
          dialErrorLimit: 40,
          perDialTimeout: 10,
        })),
    );

    const readiness = new command.remote.Command(
      `${name}-ready`,
      {
        connection: this.connection,
        create: readinessScript({ hostName: host.name, timeoutSeconds: args.readinessTimeoutSeconds }),
        triggers: [server.id],
      },
      { parent: this },
    );
    this.ready = readiness.stdout;

    this.registerOutputs({
      ipv6Address: this.ipv6Address,
      hostKey: this.hostKey,
      serverId: this.serverId,
      ready: this.ready,
    });
  }
}

/**
 * Hetzner replaces a server whenever its user data or SSH keys change. `on-generation` ignores those
 * changes and replaces only when the host's generation is bumped, so a production host is never
 * replaced by surprise; `on-change` lets every such change through. The primary IP is reassigned to the
 * new server, which requires deleting the old one first.
 */
export function replacementOptions(
  policy: HostReplacementPolicy,
  generation: number,
): pulumi.CustomResourceOptions {
  if (policy === "on-change") return { deleteBeforeReplace: true };
  return {
    deleteBeforeReplace: true,
    ignoreChanges: ["userData", "sshKeys"],
    replacementTrigger: generation,
  };
}
