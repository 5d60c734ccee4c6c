import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Registry } from "./appImage";
import type { HostTarget } from "./hostTarget";
import { hostTagOf } from "./shell/prelude";
import { registryPullScript } from "./shell/registryPull";
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
  /** Registry the image lives in: the host pulls from it, or the deployer when it lacks the image. */
  readonly registry: Pick<Registry, "server" | "username">;
  /** Read-only registry token; required for `registry`. Default: none (the deployer must hold the image). */
  readonly pullToken?: pulumi.Input<string>;
}

/**
 * Puts one app's image on one host. Triggers are the image digest and the server: a new digest or a
 * replaced server delivers again, anything else does nothing.
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
    const registry = { server: args.registry.server, username: args.registry.username };
    const imageRef = pulumi.output(args.imageRef);
    const hostTag = imageRef.apply((ref) => hostTagOf(app, ref));
    const triggers = [args.imageRef, target.serverId];

    if (mode === "tarball") {
      const script = pulumi
        .all([target.address, target.hostKey, imageRef, hostTag])
        .apply(([address, hostKey, ref, tag]) =>
          tarballDeliveryScript({
            app,
            hostName: target.hostName,
            hostTag: tag,
            imageRef: ref,
            target: { address, port: 22, user: "root", hostKey },
            registry,
          }),
        );
      // Secrets travel on stdin: the deployer's key for its own ssh, then the optional pull token.
      const stdin = pulumi
        .all([target.connection, args.pullToken ?? ""])
        .apply(([connection, token]) => `${connection.privateKey.trimEnd()}\n${token}\n`);
      const load = new command.local.Command(
        `${name}-load`,
        { create: script, interpreter: ["/bin/bash", "-c"], stdin: pulumi.secret(stdin), triggers },
        { parent: this },
      );
      this.log = load.stdout;
    } else {
      const pull = new command.remote.Command(
        `${name}-pull`,
        {
          connection: target.connection,
          create: pulumi
            .all([imageRef, hostTag])
            .apply(([ref, tag]) =>
              registryPullScript({ app, hostName: target.hostName, hostTag: tag, imageRef: ref, registry }),
            ),
          stdin: pulumi.secret(args.pullToken as pulumi.Input<string>),
          triggers,
        },
        { parent: this },
      );
      this.log = pull.stdout;
    }

    this.app = app;
    this.target = target;
    // Whatever is built from these waits for the image to be on the host.
    this.imageRef = pulumi.all([imageRef, this.log]).apply(([ref]) => ref);
    this.hostTag = pulumi.all([hostTag, this.log]).apply(([tag]) => tag);
    this.registerOutputs({ log: this.log, imageRef: this.imageRef, hostTag: this.hostTag });
  }
}
