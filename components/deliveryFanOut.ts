import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Registry } from "./appImage";
import { deployerCommandArgs } from "./deployerCommand";
import type { HostTarget } from "./hostTarget";
import type { Platform } from "./platforms";
import { hostTagOf } from "./shell/prelude";
import { DEFAULT_PARALLELISM, tarballDeliveryScript } from "./shell/tarball";

export interface DeliveryFanOutArgs {
  /** App name, for messages and the tag the image gets on the hosts. */
  readonly app: string;
  /** Every host of the app (two or more); they must accept the same deployer key. */
  readonly targets: readonly HostTarget[];
  /** Digest-pinned reference of the image. */
  readonly imageRef: pulumi.Input<string>;
  /** The stack's registry: for an image in it, the deployer fetches from it the blobs some host lacks. */
  readonly registry: Pick<Registry, "server" | "username"> & {
    /** Plain HTTP (the local stack's registry). Default: false. */
    readonly insecure?: boolean;
  };
  /** The hosts' platform: the image of it an index names. Default: `linux/amd64`. */
  readonly platform?: Platform;
  /** Read-only registry token for that. Default: none (anonymous, or the deployer's own copy). */
  readonly pullToken?: pulumi.Input<string>;
  /** Hosts worked on at once, and the longest relay chain (1: no relays). Default: 8. */
  readonly parallelism?: number;
  /**
   * Resources the relays need first, such as the firewall rules that let the hosts reach each other's
   * SSH. Default: none.
   */
  readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * Tarball delivery of one app to all its hosts at once, ahead of each host's own Delivery (give it as
 * their `after`): asks every host what it has, packs what they lack once per set of missing layers and
 * sends each new byte over the deployer's uplink once, the hosts passing the stream on to each other.
 * Each host gets its own progress and result lines. A host it cannot serve is reported and left to its
 * own Delivery, which tries directly and fails with that host's one line. Triggers are the digest and
 * every server: with nothing changed, nothing runs.
 */
export class DeliveryFanOut extends pulumi.ComponentResource {
  /** Output of the fan-out (per host: what was sent or skipped). */
  public readonly log: pulumi.Output<string>;

  constructor(name: string, args: DeliveryFanOutArgs, opts?: pulumi.ComponentResourceOptions) {
    if (args.targets.length < 2) throw new Error(`DeliveryFanOut ${name}: needs two or more targets`);
    super("hcloud-deploy:delivery:DeliveryFanOut", name, {}, opts);
    const { app, targets } = args;
    const registry = {
      server: args.registry.server,
      username: args.registry.username,
      insecure: args.registry.insecure ?? false,
    };
    const imageRef = pulumi.output(args.imageRef);
    const script = pulumi
      .all([imageRef, pulumi.all(targets.map((t) => pulumi.all([t.address, t.hostKey])))])
      .apply(([ref, hosts]) =>
        tarballDeliveryScript({
          app,
          hostTag: hostTagOf(app, ref),
          imageRef: ref,
          hosts: hosts.map(([address, hostKey], i) => ({
            hostName: targets[i].hostName,
            target: { address, port: 22, user: "root", hostKey },
          })),
          registry,
          platform: args.platform,
          parallelism: args.parallelism ?? DEFAULT_PARALLELISM,
          leaveFailuresToHosts: true,
        }),
      );
    const stdin = pulumi.all([pulumi.all(targets.map((t) => t.connection)), args.pullToken ?? ""]).apply(
      ([connections, token]) =>
        `${sharedKey(
          name,
          connections.map((c) => c.privateKey),
        )}\n${token}\n`,
    );
    const ship = new command.local.Command(
      `${name}-ship`,
      deployerCommandArgs(script, stdin, [args.imageRef, ...targets.map((t) => t.serverId)]),
      { parent: this, dependsOn: args.dependsOn },
    );
    this.log = ship.stdout;
    this.registerOutputs({ log: this.log });
  }
}

/** The one private key all targets share; the script holds a single key in its agent. */
export function sharedKey(name: string, privateKeys: readonly string[]): string {
  const keys = new Set(privateKeys.map((k) => k.trimEnd()));
  if (keys.size !== 1) throw new Error(`DeliveryFanOut ${name}: the targets need the same deployer key`);
  return [...keys][0];
}
