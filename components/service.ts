import * as crypto from "crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Delivery } from "./delivery";
import {
  envFileContent,
  serviceRemoveScript,
  serviceScript,
  ServiceSpec,
  settingsHash,
} from "./shell/service";

export const RESTART_POLICIES = ["always", "unless-stopped", "on-failure"] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

/** The HTTP check a new revision must pass before it takes over. */
export interface HealthCheck {
  /** Absolute URL path, e.g. `/healthz`. */
  readonly path: string;
  /** How long a new revision may take to answer 2xx/3xx, in seconds. */
  readonly timeoutSeconds: number;
  /** Pause between attempts, in seconds. */
  readonly intervalSeconds: number;
}

/** Defaults of the optional ServiceSettings fields. */
export const SERVICE_DEFAULTS = {
  memory: "256m",
  cpus: 1,
  restart: "unless-stopped" as RestartPolicy,
  health: { path: "/", timeoutSeconds: 60, intervalSeconds: 2 } as HealthCheck,
  keepImages: 3,
};

/** How one app runs on a host. */
export interface ServiceSettings {
  /** Port the app listens on inside its container. */
  readonly port: number;
  /** Port published on the host. Default: `port`. */
  readonly hostPort?: number;
  /** Plain environment (part of the settings hash). Default: none. */
  readonly env?: Readonly<Record<string, string>>;
  /** Docker memory limit. Default: `256m`. */
  readonly memory?: string;
  /** Docker CPU limit. Default: 1. */
  readonly cpus?: number;
  /** Docker restart policy. Default: `unless-stopped`. */
  readonly restart?: RestartPolicy;
  /** Health gate. Default: GET `/` within 60 s, every 2 s. */
  readonly health?: HealthCheck;
  /**
   * Releases of the app kept on the host after a successful rollout, besides any image a container
   * uses; older hcloud-deploy images of the app are removed. Default: 3.
   */
  readonly keepImages?: number;
}

export interface ServiceArgs {
  /** The delivery that put the image on the host: the service runs that image on that host. */
  readonly delivery: Delivery;
  readonly settings: ServiceSettings;
  /** Secret environment values, by name (secret). Default: none. */
  readonly secretEnv?: pulumi.Input<Readonly<Record<string, string>>>;
}

/**
 * One app's container on one host, behind a health gate: a new revision is started and checked before
 * the old one is stopped, then old images of the app are pruned. Triggers are the image digest, a hash
 * of the settings and the server.
 */
export class Service extends pulumi.ComponentResource {
  /** Where the app answers, `http://[address]:port/`. */
  public readonly url: pulumi.Output<string>;

  constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    const keepImages = args.settings.keepImages ?? SERVICE_DEFAULTS.keepImages;
    if (!Number.isInteger(keepImages) || keepImages < 1)
      throw new Error(`Service ${name}: keepImages must be a whole number of at least 1, not ${keepImages}`);
    super("hcloud-deploy:service:Service", name, {}, opts);
    const { delivery, settings } = args;
    const { target } = delivery;
    const hostPort = settings.hostPort ?? settings.port;
    const env = settings.env ?? {};

    const spec = delivery.hostTag.apply((image): Omit<ServiceSpec, "instance"> => ({
      app: delivery.app,
      hostName: target.hostName,
      image,
      port: settings.port,
      hostPort,
      memory: settings.memory ?? SERVICE_DEFAULTS.memory,
      cpus: settings.cpus ?? SERVICE_DEFAULTS.cpus,
      restart: settings.restart ?? SERVICE_DEFAULTS.restart,
      health: settings.health ?? SERVICE_DEFAULTS.health,
      env,
      keepImages,
    }));
    // A replaced server starts empty: it needs the container again, so the server is a trigger too.
    const triggers = [delivery.imageRef, spec.apply(settingsHash), target.serverId];
    const run = pulumi
      .all([spec, pulumi.all(triggers)])
      .apply(([s, values]): ServiceSpec => ({ ...s, instance: instanceOf(values) }));
    const envFile = pulumi
      .output(args.secretEnv ?? {})
      .apply((secrets) => envFileContent({ ...env, ...secrets }));

    new command.remote.Command(
      `${name}-run`,
      {
        connection: target.connection,
        create: run.apply((s) => serviceScript(s, "create")),
        // New triggers still replace the resource (pulumi-command 1.2.1, checked on the local stack);
        // other input changes (script text, env file) run `update`, which converges without a new
        // claim on the container (see serviceScript).
        update: run.apply((s) => serviceScript(s, "update")),
        delete: run.apply(serviceRemoveScript),
        stdin: pulumi.secret(envFile),
        triggers,
        // The previous output would go to the host as SSH environment, which sshd refuses (AcceptEnv).
        addPreviousOutputInEnv: false,
      },
      { parent: this },
    );

    this.url = pulumi.interpolate`http://[${target.address}]:${hostPort}/`;
    this.registerOutputs({ url: this.url });
  }
}

/** Names this resource's deployment: a hash of its triggers (see ServiceSpec.instance). */
function instanceOf(triggers: string[]): string {
  return crypto.createHash("sha256").update(JSON.stringify(triggers)).digest("hex").slice(0, 12);
}
