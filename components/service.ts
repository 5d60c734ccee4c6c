import * as crypto from "crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { AppConfig } from "./config";
import { Delivery } from "./delivery";
import { HetznerHost } from "./host";
import {
  envFileContent,
  serviceRemoveScript,
  serviceScript,
  ServiceSpec,
  settingsHash,
} from "./shell/service";

export interface ServiceArgs {
  /** The app's settings from config (ports, limits, restart policy, health check, env). */
  readonly app: AppConfig;
  /** Host name from config, for messages. */
  readonly hostName: string;
  readonly host: HetznerHost;
  /** Digest-pinned reference: a new digest replaces the service. */
  readonly imageRef: pulumi.Input<string>;
  /** Tag of the delivered image on the host. */
  readonly hostTag: pulumi.Input<string>;
  /** The delivery that must have finished first. */
  readonly delivery: Delivery;
  /** Values of the app's `secretEnv` names (secret). Default: none. */
  readonly secretEnv?: pulumi.Input<Record<string, string>>;
}

/**
 * One app's container on one host, behind a health gate: a new revision is started and checked before
 * the old one is stopped. Triggers are the image digest, a hash of the settings and the server.
 */
export class Service extends pulumi.ComponentResource {
  /** Where the app answers, `http://[address]:port/`. */
  public readonly url: pulumi.Output<string>;

  constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hcloud-deploy:service:Service", name, {}, opts);
    const { app, host } = args;

    const settings = pulumi.output(args.hostTag).apply((image): Omit<ServiceSpec, "instance"> => ({
      app: app.name,
      hostName: args.hostName,
      image,
      port: app.port,
      hostPort: app.hostPort,
      memory: app.memory,
      cpus: app.cpus,
      restart: app.restart,
      health: app.health,
      env: app.env,
    }));
    // A replaced server starts empty: it needs the container again, so the server is a trigger too.
    const triggers = [pulumi.output(args.imageRef), settings.apply(settingsHash), host.serverId];
    const spec = pulumi
      .all([settings, pulumi.all(triggers)])
      .apply(([s, values]): ServiceSpec => ({ ...s, instance: instanceOf(values) }));
    const envFile = pulumi
      .output(args.secretEnv ?? {})
      .apply((secrets) => envFileContent({ ...app.env, ...pick(secrets, app.secretEnv) }));

    new command.remote.Command(
      `${name}-run`,
      {
        connection: host.connection,
        create: spec.apply(serviceScript),
        delete: spec.apply(serviceRemoveScript),
        stdin: pulumi.secret(envFile),
        triggers,
      },
      { parent: this, dependsOn: [args.delivery] },
    );

    this.url = pulumi.interpolate`http://[${host.ipv6Address}]:${app.hostPort}/`;
    this.registerOutputs({ url: this.url });
  }
}

/** Names this resource's deployment: a hash of its triggers (see ServiceSpec.instance). */
function instanceOf(triggers: string[]): string {
  return crypto.createHash("sha256").update(JSON.stringify(triggers)).digest("hex").slice(0, 12);
}

function pick(values: Record<string, string>, names: readonly string[]): Record<string, string> {
  return Object.fromEntries(names.map((n) => [n, values[n]]));
}
