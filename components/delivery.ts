import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Registry } from "./appImage";
import { deployerCommandArgs } from "./deployerCommand";
import type { HostTarget } from "./hostTarget";
import type { Platform } from "./platforms";
import { hostTagOf } from "./shell/prelude";
import { registryPullDeliveryScript } from "./shell/registryPull";
import { tarballDeliveryScript } from "./shell/tarball";

export const DELIVERY_MODES = ["tarball", "registry"] as const;
/** `tarball` streams the image from the deployer over SSH; `registry` has the host pull it. */
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

export interface DeliveryArgs {
  /** App name, for messages and the tag the image gets on the host. */
  readonly app: string;
  /** The machine to deliver to; its connection (and private key) is used for every step. */
  readonly target: HostTarget;
  /** Digest-pinned reference of the image. */
  readonly imageRef: pulumi.Input<string>;
  /** How the image gets there. Default: `tarball`. */
  readonly mode?: DeliveryMode;
  /**
   * The stack's registry: the host pulls from it (`registry`), or the deployer fetches from it the blobs
   * the host lacks (`tarball`, for an image in it).
   */
  readonly registry: Pick<Registry, "server" | "username"> & {
    /** Plain HTTP (the local stack's registry). Default: false. */
    readonly insecure?: boolean;
  };
  /** The host's platform: the image of it an index names. Default: `linux/amd64`. */
  readonly platform?: Platform;
  /** Read-only registry token; required for `registry`. Default: none (anonymous, or the deployer's own copy). */
  readonly pullToken?: pulumi.Input<string>;
  /**
   * Runs first: the app's DeliveryFanOut, after which this delivery usually finds the image on the host
   * and only confirms it, or sends directly what the fan-out could not. Default: none.
   */
  readonly after?: pulumi.Resource;
}

/**
 * Puts one app's image on one host, on the deployer through OpenSSH (pinned key, one-line failures).
 * Triggers are the image digest and the server: a new digest or a replaced server delivers again,
 * anything else does nothing. Tarball delivery asks the host first and sends only the layers it lacks.
 */
export class Delivery extends pulumi.ComponentResource {
  public readonly app: string;
  public readonly target: HostTarget;
  /** The digest reference, once the image is on the host. */
  public readonly imageRef: pulumi.Output<string>;
  /** The tag the image carries on the host, once it is there. */
  public readonly hostTag: pulumi.Output<string>;
  /** Output of the delivery command (what was transferred or skipped). */
  public readonly log: pulumi.Output<string>;

  constructor(name: string, args: DeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
    const mode = args.mode ?? "tarball";
    if (mode === "registry" && args.pullToken === undefined)
      throw new Error(`Delivery ${name}: registry delivery needs a pull token`);
    super("hcloud-deploy:delivery:Delivery", name, {}, opts);
    const { app, target } = args;
    const registry = {
      server: args.registry.server,
      username: args.registry.username,
      insecure: args.registry.insecure ?? false,
    };
    const imageRef = pulumi.output(args.imageRef);
    const hostTag = imageRef.apply((ref) => hostTagOf(app, ref));
    const triggers = [args.imageRef, target.serverId];
    const script = pulumi
      .all([target.address, target.hostKey, imageRef, hostTag])
      .apply(([address, hostKey, ref, tag]) => {
        const sshTarget = { address, port: 22, user: "root", hostKey };
        const hostName = target.hostName;
        return mode === "tarball"
          ? tarballDeliveryScript({
              app,
              hostTag: tag,
              imageRef: ref,
              hosts: [{ hostName, target: sshTarget }],
              registry,
              platform: args.platform,
              // After a fan-out the host most likely has the image: ask it before reading the registry.
              readAhead: args.after === undefined,
            })
          : registryPullDeliveryScript({
              app,
              hostName,
              hostTag: tag,
              imageRef: ref,
              registry,
              target: sshTarget,
            });
      });
    // Secrets travel on stdin: the deployer's key for its own ssh, then the pull token (for the host to
    // pull with, or for the deployer when it has to pull the image itself).
    const stdin = pulumi
      .all([target.connection, args.pullToken ?? ""])
      .apply(([connection, token]) => `${connection.privateKey.trimEnd()}\n${token}\n`);
    const run = new command.local.Command(
      `${name}-${mode === "tarball" ? "load" : "pull"}`,
      deployerCommandArgs(script, stdin, triggers),
      { parent: this, dependsOn: args.after ? [args.after] : undefined },
    );

    this.app = app;
    this.target = target;
    this.log = run.stdout;
    // Whatever is built from these waits for the image to be on the host.
    this.imageRef = pulumi.all([imageRef, this.log]).apply(([ref]) => ref);
    this.hostTag = pulumi.all([hostTag, this.log]).apply(([tag]) => tag);
    this.registerOutputs({ log: this.log, imageRef: this.imageRef, hostTag: this.hostTag });
  }
}
