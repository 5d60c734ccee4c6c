import * as crypto from "crypto";
import * as command from "@pulumi/command";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { renderCloudInit } from "./cloudInit";
import { HostConnection, HostTarget } from "./hostTarget";
import type { ProxyTls } from "./shell/caddy";
import { overSshScript, SCRIPT_VARIABLE, scriptCommandLine } from "./shell/deployerCommand";
import { caCertificateOf, hostSetupScript } from "./shell/proxy";
import { readinessScript } from "./shell/readiness";
import { SshHostKey } from "./sshHostKey";

export const HOST_REPLACEMENT_POLICIES = ["on-change", "on-generation"] as const;
/** What may replace a server: any user-data or SSH-key change, or only a generation bump. */
export type HostReplacementPolicy = (typeof HOST_REPLACEMENT_POLICIES)[number];

/**
 * Default server type per location (checked against Hetzner's catalog on 2026-12-01): the cost-optimized
 * cx23 (2 vCPU, 4 GB) where Hetzner sells that family, the EU locations; in ash and hil, where neither it
 * nor the newer cpx12 is sold, cpx11 (still orderable there, withdrawn elsewhere); cpx12 in sin. cx22 can
 * no longer be ordered anywhere since 2025-12-31.
 */
export const DEFAULT_SERVER_TYPES: Readonly<Record<string, string>> = {
  fsn1: "cx23",
  nbg1: "cx23",
  hel1: "cx23",
  ash: "cpx11",
  hil: "cpx11",
  sin: "cpx12",
};

export function defaultServerType(location: string): string {
  return DEFAULT_SERVER_TYPES[location] ?? "cpx12";
}

/** Defaults of the optional HetznerHostArgs fields (the server type's: defaultServerType). */
export const HOST_DEFAULTS = {
  image: "debian-13",
  generation: 1,
  replacementPolicy: "on-generation" as HostReplacementPolicy,
  readinessTimeoutSeconds: 600,
  tls: { issuer: "acme" } as ProxyTls,
};

/**
 * Firewall rules: SSH from the allowed CIDRs and from the stack's other hosts (the relays of a
 * delivery), the ports the proxy serves apps on (80 and 443 for apps with domains) from anywhere, ICMPv6,
 * nothing else. The proxy's admin API is a unix socket, never a port.
 */
export function firewallRules(
  sshAllowedCidrs: readonly string[],
  openPorts: readonly number[],
  peerSshSources: readonly string[] = [],
) {
  const anywhere = ["::/0"];
  const peers = [...peerSshSources].sort();
  return [
    { direction: "in", protocol: "tcp", port: "22", sourceIps: [...sshAllowedCidrs], description: "ssh" },
    ...(peers.length > 0
      ? [
          {
            direction: "in",
            protocol: "tcp",
            port: "22",
            sourceIps: peers,
            description: "ssh from the stack's hosts",
          },
        ]
      : []),
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
  /** Hetzner location, e.g. `fsn1`. */
  readonly location: string;
  /** Hetzner server type. Default: `defaultServerType(location)` (cx23 in the EU, cpx11/cpx12 elsewhere). */
  readonly serverType?: pulumi.Input<string>;
  /** Hetzner image name. Default: `debian-13`. */
  readonly image?: pulumi.Input<string>;
  /** Bumping it is the deliberate way to replace the host under `on-generation`. Default: 1. */
  readonly generation?: number;
  /** DNS64 resolvers (NAT64 behind them). Default: none, the host reaches IPv6 destinations only. */
  readonly dns64Servers?: readonly string[];
  /** Hetzner server name; must be unique in the Hetzner project. */
  readonly serverName: string;
  /** ID of the hcloud.SshKey authorised for root. */
  readonly sshKeyId: pulumi.Input<string>;
  /** Deployer's private key for every connection to the host (secret). */
  readonly sshPrivateKey: pulumi.Input<string>;
  /** Source CIDRs allowed to reach port 22. */
  readonly sshAllowedCidrs: readonly string[];
  /**
   * Networks of the stack's other hosts, allowed to reach SSH: during a delivery the hosts pass images on
   * to each other, each with a key made for that delivery and a forced receive command. Default: none.
   */
  readonly peerSshSources?: pulumi.Input<string[]>;
  /** TCP ports the host proxy serves apps on (80 and 443 for apps with domains). Default: none. */
  readonly openPorts?: readonly number[];
  /** How the host proxy gets certificates for apps with domains. Default: `acme` (Let's Encrypt). */
  readonly tls?: ProxyTls;
  /** What may replace the server. Default: `on-generation`. */
  readonly replacementPolicy?: HostReplacementPolicy;
  /** Upper bound for cloud-init and Docker to come up, in seconds. Default: 600. */
  readonly readinessTimeoutSeconds?: number;
  /** Labels for every Hetzner resource (project and stack at least); `host` is added. Default: none. */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * A subnet of the stack's private network (PrivateNetwork) for the server to join, so the other hosts'
   * apps reach its apps over it. Default: none, the host is in no network of the stack's own.
   */
  readonly privateSubnetId?: pulumi.Input<string>;
}

/**
 * An IPv6-only Hetzner server that is ready to run containers: primary IPv6 that survives replacement,
 * firewall attached at creation, cloud-init with a pinned host key, a readiness gate, and the host proxy
 * (Caddy, the Docker settings and the apps' network), converged by `<name>-proxy` whenever its content
 * changes, on new and existing servers alike. The component's name is the host's name in labels and
 * messages.
 */
export class HetznerHost extends pulumi.ComponentResource implements HostTarget {
  public readonly hostName: string;
  /** The server's IPv6 address (`<network>::1`), once the readiness gate has passed. */
  public readonly address: pulumi.Output<string>;
  /** Connection for remote commands, once the readiness gate has passed; secret. */
  public readonly connection: pulumi.Output<HostConnection>;
  /** The pinned host key line, for known_hosts on the deployer (public, not secret). */
  public readonly hostKey: pulumi.Output<string>;
  public readonly serverId: pulumi.Output<string>;
  /** The /64 of the host's primary IPv6, known before the server exists (for the other hosts' firewalls). */
  public readonly ipv6Network: pulumi.Output<string>;
  /** The firewall, for whatever needs its rules in place first. */
  public readonly firewall: hcloud.Firewall;
  /** Root certificate of the proxy's internal CA (PEM) with the `internal` issuer; "" otherwise. */
  public readonly proxyCaCertificate: pulumi.Output<string>;
  /** Its IPv4 address in the stack's private network (assigned by Hetzner); undefined without privateSubnetId. */
  public readonly privateIp: pulumi.Output<string | undefined>;

  constructor(name: string, args: HetznerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hcloud-deploy:host:HetznerHost", name, {}, opts);
    this.hostName = name;
    const labels = { ...args.labels, host: name };
    const generation = args.generation ?? HOST_DEFAULTS.generation;
    const tls = args.tls ?? HOST_DEFAULTS.tls;

    const hostKey = new SshHostKey(`${name}-host-key`, { comment: args.serverName }, { parent: this });

    // A primary IP outlives the server, so a replaced host keeps its address (and DNS records stay right).
    const primaryIp = new hcloud.PrimaryIp(
      `${name}-ipv6`,
      { type: "ipv6", location: args.location, autoDelete: false, labels },
      { parent: this },
    );

    const rules = pulumi
      .output(args.peerSshSources ?? [])
      .apply((peers) => firewallRules(args.sshAllowedCidrs, args.openPorts ?? [], peers));
    const firewall = new hcloud.Firewall(`${name}-firewall`, { rules, labels }, { parent: this });

    const userData = pulumi.all([hostKey.publicKey, hostKey.privateKey]).apply(([publicKey, privateKey]) =>
      renderCloudInit({
        hostKey: { publicKey, privateKey },
        generation,
        dns64Servers: args.dns64Servers ?? [],
        tls,
      }),
    );

    const server = new hcloud.Server(
      `${name}-server`,
      {
        name: args.serverName,
        serverType: args.serverType ?? defaultServerType(args.location),
        image: args.image ?? HOST_DEFAULTS.image,
        location: args.location,
        sshKeys: [args.sshKeyId],
        userData: pulumi.secret(userData),
        publicNets: [{ ipv4Enabled: false, ipv6Enabled: true, ipv6: primaryIp.id.apply(Number) }],
        firewallIds: [firewall.id.apply(Number)],
        labels,
      },
      {
        parent: this,
        ...replacementOptions(args.replacementPolicy ?? HOST_DEFAULTS.replacementPolicy, generation),
      },
    );

    const connection = pulumi.secret(
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
        connection,
        create: readinessScript({
          hostName: name,
          timeoutSeconds: args.readinessTimeoutSeconds ?? HOST_DEFAULTS.readinessTimeoutSeconds,
        }),
        triggers: [server.id],
      },
      { parent: this },
    );
    const afterReady = <T>(value: pulumi.Output<T>) =>
      pulumi.all([value, readiness.stdout]).apply(([v]) => v);

    // Existing hosts get what cloud-init gives new ones: prod never replaces a host for a user-data change.
    const setup = hostSetupScript(name, tls);
    const proxy = new command.local.Command(
      `${name}-proxy`,
      {
        create: scriptCommandLine("create"),
        interpreter: ["/bin/sh", "-c"],
        environment: {
          [SCRIPT_VARIABLE]: pulumi
            .all([afterReady(server.ipv6Address), hostKey.publicKey])
            .apply(([address, publicKey]) =>
              overSshScript({
                subject: "proxy",
                hostName: name,
                target: { address, port: 22, user: "root", hostKey: publicKey },
                create: setup,
              }),
            ),
        },
        addPreviousOutputInEnv: false,
        stdin: pulumi.secret(pulumi.output(args.sshPrivateKey).apply((key) => `${key.trimEnd()}\n`)),
        triggers: [crypto.createHash("sha256").update(setup).digest("hex"), server.id],
      },
      { parent: this },
    );
    // Whatever is built from these waits for the gate and the proxy: data flow carries the dependency.
    const afterProxy = <T>(value: pulumi.Output<T>) => pulumi.all([value, proxy.stdout]).apply(([v]) => v);

    this.privateIp =
      args.privateSubnetId === undefined
        ? pulumi.output(undefined)
        : new hcloud.ServerNetwork(
            `${name}-private`,
            { serverId: server.id.apply(Number), subnetId: args.privateSubnetId },
            { parent: this },
          ).ip;

    this.address = afterProxy(afterReady(server.ipv6Address));
    this.connection = afterProxy(afterReady(connection));
    this.hostKey = hostKey.publicKey;
    this.serverId = server.id;
    this.ipv6Network = primaryIp.ipNetwork;
    this.firewall = firewall;
    this.proxyCaCertificate = proxy.stdout.apply(caCertificateOf);
    this.registerOutputs({
      address: this.address,
      hostKey: this.hostKey,
      serverId: this.serverId,
      ipv6Network: this.ipv6Network,
      proxyCaCertificate: this.proxyCaCertificate,
      privateIp: this.privateIp,
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
