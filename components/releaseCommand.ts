import * as crypto from "crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Delivery } from "./delivery";
import { overSshScript, SCRIPT_VARIABLE, scriptCommandLine } from "./shell/deployerCommand";
import { releaseScript } from "./shell/release";
import { envFileContent } from "./shell/service";
import type { VolumeMount } from "./shell/volumes";

/** Defaults of the optional ReleaseCommandArgs fields. */
export const RELEASE_DEFAULTS = { timeoutSeconds: 300, memory: "256m", cpus: 1 };

export interface ReleaseCommandArgs {
  /** The delivery of the new image to the app's first host: the command runs there, from that image. */
  readonly delivery: Delivery;
  /** Program and arguments, run as written (the program replaces the image's entrypoint), e.g. `["./migrate", "up"]`. */
  readonly command: readonly string[];
  /** How long it may run, in seconds. Default: 300. */
  readonly timeoutSeconds?: number;
  /** The app's plain environment (part of what makes it run again). Default: none. */
  readonly env?: Readonly<Record<string, string>>;
  /** Secret environment values, by name (secret; a change of one alone does not run it again). Default: none. */
  readonly secretEnv?: pulumi.Input<Readonly<Record<string, string>>>;
  /** Docker memory limit of the one-off container. Default: `256m`. */
  readonly memory?: string;
  /** Docker CPU limit of the one-off container. Default: 1. */
  readonly cpus?: number;
  /** The app's volumes (on the delivery's host), mounted as the app's containers have them. Default: none. */
  readonly volumes?: readonly VolumeMount[];
}

/**
 * An app's release command (its migration), once per new image or settings change, before any host of
 * the app rolls (give it to the services as a dependency): a one-off container of the new image on the
 * delivery's host. A failure stops the deployment with the command's last output lines; nothing rolls and
 * the old version keeps serving. Triggers are the image digest and a hash of the command, its timeout and
 * the plain env; a replaced server does not run it again (the data it migrated lives elsewhere).
 */
export class ReleaseCommand extends pulumi.ComponentResource {
  /** The command's output, once it passed. */
  public readonly output: pulumi.Output<string>;

  constructor(name: string, args: ReleaseCommandArgs, opts?: pulumi.ComponentResourceOptions) {
    const timeoutSeconds = args.timeoutSeconds ?? RELEASE_DEFAULTS.timeoutSeconds;
    if (args.command.length === 0 || args.command[0] === "")
      throw new Error(`ReleaseCommand ${name}: the command is empty`);
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1)
      throw new Error(`ReleaseCommand ${name}: timeoutSeconds must be a whole number of at least 1`);
    super("hcloud-deploy:release:ReleaseCommand", name, {}, opts);
    const { delivery } = args;
    const { target } = delivery;
    const env = args.env ?? {};
    const settings = crypto
      .createHash("sha256")
      .update(JSON.stringify({ command: args.command, timeoutSeconds, env }))
      .digest("hex")
      .slice(0, 12);
    const script = pulumi
      .all([delivery.hostTag, target.address, target.hostKey])
      .apply(([image, address, hostKey]) =>
        overSshScript({
          subject: delivery.app,
          hostName: target.hostName,
          target: { address, port: 22, user: "root", hostKey },
          create: releaseScript({
            app: delivery.app,
            hostName: target.hostName,
            image,
            command: args.command,
            timeoutSeconds,
            memory: args.memory ?? RELEASE_DEFAULTS.memory,
            cpus: args.cpus ?? RELEASE_DEFAULTS.cpus,
            ...(args.volumes?.length ? { volumes: args.volumes } : {}),
          }),
        }),
      );
    // The deployer's key for its own ssh, then the env file (secrets included) for the host.
    const stdin = pulumi
      .all([target.connection, args.secretEnv ?? {}])
      .apply(
        ([connection, secrets]) =>
          `${connection.privateKey.trimEnd()}\n${envFileContent({ ...env, ...secrets })}`,
      );
    const run = new command.local.Command(
      `${name}-run`,
      {
        create: scriptCommandLine("create"),
        // Anything else that changes (the script, the env file, the host) runs nothing.
        update: "true",
        interpreter: ["/bin/sh", "-c"],
        environment: { [SCRIPT_VARIABLE]: script },
        addPreviousOutputInEnv: false,
        stdin: pulumi.secret(stdin),
        triggers: [delivery.imageRef, settings],
      },
      { parent: this },
    );
    this.output = run.stdout;
    this.registerOutputs({ output: this.output });
  }
}
