import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { DeliveryMode, RegistryConfig } from "./config";
import { HetznerHost } from "./host";
import { registryPullScript } from "./shell/registryPull";
import { tarballDeliveryScript } from "./shell/tarball";

export interface DeliveryArgs {
  /** App name, for messages and the host tag. */
  readonly app: string;
  /** Host name from config, for messages. */
  readonly hostName: string;
  /** The host to deliver to; nothing starts before its readiness gate has passed. */
  readonly host: HetznerHost;
  /** `tarball` streams the image from the deployer; `registry` has the host pull it. */
  readonly mode: DeliveryMode;
  /** Digest-pinned reference of the image. */
  readonly imageRef: pulumi.Input<string>;
  /** Tag the image gets on the host. */
  readonly hostTag: pulumi.Input<string>;
  /** Registry the image lives in (pulls by the deployer or the host). */
  readonly registry: RegistryConfig;
  /** Deployer's SSH private key: tarball mode streams over the deployer's own ssh. */
  readonly sshPrivateKey: pulumi.Input<string>;
  /** Read-only registry token; required for `registry`, optional for `tarball`. Default: none. */
  readonly pullToken?: pulumi.Input<string>;
}

/**
 * Puts one app's image on one host. Triggers are the image digest and the server: a new digest or a
 * replaced server delivers again, anything else does nothing.
 */
export class Delivery extends pulumi.ComponentResource {
  /** Output of the delivery command (what was transferred or skipped). */
  public readonly log: pulumi.Output<string>;

  constructor(name: string, args: DeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hcloud-deploy:delivery:Delivery", name, {}, opts);
    const { host, registry } = args;
    const triggers = [args.imageRef, host.serverId];
    const childOpts = { parent: this, dependsOn: [host] };

    if (args.mode === "tarball") {
      const script = pulumi
        .all([host.ipv6Address, host.hostKey, args.imageRef, args.hostTag])
        .apply(([address, hostKey, imageRef, hostTag]) =>
          tarballDeliveryScript({
            app: args.app,
            hostName: args.hostName,
            hostTag,
            imageRef,
            target: { address, port: 22, user: "root", hostKey },
            registry: { server: registry.server, username: registry.username },
          }),
        );
      const stdin = pulumi
        .all([args.sshPrivateKey, args.pullToken ?? ""])
        .apply(([key, token]) => `${key.trimEnd()}\n${token}\n`);
      const load = new command.local.Command(
        `${name}-load`,
        { create: script, interpreter: ["/bin/bash", "-c"], stdin: pulumi.secret(stdin), triggers },
        childOpts,
      );
      this.log = load.stdout;
    } else {
      if (args.pullToken === undefined)
        throw new Error(`Delivery ${name}: registry delivery needs a pull token`);
      const pull = new command.remote.Command(
        `${name}-pull`,
        {
          connection: host.connection,
          create: pulumi.all([args.imageRef, args.hostTag]).apply(([imageRef, hostTag]) =>
            registryPullScript({
              app: args.app,
              hostName: args.hostName,
              hostTag,
              imageRef,
              registry: { server: registry.server, username: registry.username },
            }),
          ),
          stdin: pulumi.secret(args.pullToken),
          triggers,
        },
        childOpts,
      );
      this.log = pull.stdout;
    }
    this.registerOutputs({ log: this.log });
  }
}
