import * as crypto from "crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Delivery } from "./delivery";
import { modalCommandArgs } from "./deployerCommand";
import { overSshScript } from "./shell/deployerCommand";
import { rolloutRemoveScript, rolloutScript } from "./shell/rollout";
import { envFileContent, HealthCheck, RolloutStrategy, ServiceSpec, settingsHash } from "./shell/service";
import type { VolumeMount } from "./shell/volumes";

export { HEALTH_TYPES, httpPathOf, ROLLOUT_STRATEGIES } from "./shell/service";
export type { HealthCheck, RolloutStrategy } from "./shell/service";

export const RESTART_POLICIES = ["always", "unless-stopped", "on-failure"] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

/** Defaults of the optional ServiceSettings fields. */
export const SERVICE_DEFAULTS = {
  memory: "256m",
  cpus: 1,
  restart: "unless-stopped" as RestartPolicy,
  health: { path: "/", timeoutSeconds: 60, intervalSeconds: 2 },
  drainSeconds: 30,
  keepImages: 3,
};

/** How one app runs on a host. */
export interface ServiceSettings {
  /** Port the app listens on inside its container. */
  readonly port: number;
  /**
   * Port the host proxy serves the app on over plain HTTP (apps without domains). Default: none, and
   * without domains no route either: other apps on the host reach it on the apps' network only.
   */
  readonly hostPort?: number;
  /** Host names the proxy serves over HTTPS with automatic certificates; 80 redirects. Default: none. */
  readonly domains?: readonly string[];
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
   * Upper bound for requests in flight to the old version to finish before it stops, in seconds; the
   * drain ends as soon as none is left. Default: 30.
   */
  readonly drainSeconds?: number;
  /**
   * Releases of the app kept on the host after a successful rollout, besides any image a container uses
   * and the one the stack pins; older ones are removed with their layers. Default: 3.
   */
  readonly keepImages?: number;
  /**
   * Host directories (under /var/lib/hcloud-deploy/volumes/<app>/) mounted into the container, made on
   * first use and owned by the image's user; never removed by the product. Default: none.
   */
  readonly volumes?: readonly VolumeMount[];
  /**
   * `overlap` starts the new version next to the old one and switches without dropping a request;
   * `recreate` stops the old one first (two copies never open the same data). Default: `overlap`.
   */
  readonly strategy?: RolloutStrategy;
  /**
   * Containers of the app on the host, balanced round robin by the proxy (health-checked); `memory` and
   * `cpus` apply to each. Default: 1.
   */
  readonly replicas?: number;
}

export interface ServiceArgs {
  /** The delivery that put the image on the host: the service runs that image on that host. */
  readonly delivery: Delivery;
  readonly settings: ServiceSettings;
  /** Secret environment values, by name (secret). Default: none. */
  readonly secretEnv?: pulumi.Input<Readonly<Record<string, string>>>;
  /**
   * Names the app's containers resolve to addresses (`/etc/hosts` entries), e.g. the other apps'
   * `<app>.internal` (config/internalNames.ts); part of the settings, so a change rolls the app. Default: none.
   */
  readonly internalHosts?: pulumi.Input<Readonly<Record<string, readonly string[]>>>;
}

/**
 * One app's container on one host, behind the host's proxy: a new revision starts next to the running
 * one, must pass its health check, takes the traffic in one proxy call, and the old one drains and stops.
 * Triggers are the image digest, a hash of the container settings and the server. The rollout runs on
 * the deployer over SSH (`<name>-rollout`); `dependsOn` in `opts` orders it after other rollouts (the
 * program rolls an app across its hosts that way).
 */
export class Service extends pulumi.ComponentResource {
  /**
   * Where the app answers: `http://[address]:hostPort/`, `https://<first domain>/`, or for an app without
   * a route `<app>:<port>`, its address on the apps' network.
   */
  public readonly url: pulumi.Output<string>;

  constructor(name: string, args: ServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    const keepImages = args.settings.keepImages ?? SERVICE_DEFAULTS.keepImages;
    if (!Number.isInteger(keepImages) || keepImages < 1)
      throw new Error(`Service ${name}: keepImages must be a whole number of at least 1, not ${keepImages}`);
    const replicas = args.settings.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1)
      throw new Error(`Service ${name}: replicas must be a whole number of at least 1, not ${replicas}`);
    super("hcloud-deploy:service:Service", name, {}, opts);
    const { delivery, settings } = args;
    const { target } = delivery;
    const { hostPort } = settings;
    const domains = [...(settings.domains ?? [])];
    const env = settings.env ?? {};

    const names = pulumi.output(args.internalHosts ?? {});
    const spec = pulumi
      .all([delivery.hostTag, names])
      .apply(([image, internalHosts]): Omit<ServiceSpec, "instance"> => ({
        app: delivery.app,
        hostName: target.hostName,
        image,
        port: settings.port,
        // Left out without one, so a routed app's spec (and script) stays as it was.
        ...(hostPort !== undefined ? { hostPort } : {}),
        domains,
        memory: settings.memory ?? SERVICE_DEFAULTS.memory,
        cpus: settings.cpus ?? SERVICE_DEFAULTS.cpus,
        restart: settings.restart ?? SERVICE_DEFAULTS.restart,
        health: settings.health ?? SERVICE_DEFAULTS.health,
        drainSeconds: settings.drainSeconds ?? SERVICE_DEFAULTS.drainSeconds,
        env,
        keepImages,
        // Left out when unset, so the spec (and the script) of an app without them stays as it was.
        ...(settings.volumes?.length ? { volumes: settings.volumes } : {}),
        ...(settings.strategy === "recreate" ? { strategy: settings.strategy } : {}),
        ...((settings.replicas ?? 1) > 1 ? { replicas: settings.replicas } : {}),
        ...(Object.keys(internalHosts).length > 0 ? { internalHosts } : {}),
      }));
    // A replaced server starts empty: it needs the container again, so the server is a trigger too.
    const triggers = [delivery.imageRef, spec.apply(settingsHash), target.serverId];
    const run = pulumi
      .all([spec, pulumi.all(triggers)])
      .apply(([s, values]): ServiceSpec => ({ ...s, instance: instanceOf(values) }));
    const script = pulumi.all([run, target.address, target.hostKey]).apply(([s, address, hostKey]) =>
      overSshScript({
        subject: s.app,
        hostName: s.hostName,
        target: { address, port: 22, user: "root", hostKey },
        create: rolloutScript(s, "create"),
        update: rolloutScript(s, "update"),
        delete: rolloutRemoveScript(s),
      }),
    );
    // The deployer's key for its own ssh, then the env file (secrets included) for the host.
    const stdin = pulumi
      .all([target.connection, args.secretEnv ?? {}])
      .apply(
        ([connection, secrets]) =>
          `${connection.privateKey.trimEnd()}\n${envFileContent({ ...env, ...secrets })}`,
      );

    // New triggers still replace the resource (pulumi-command 1.2.1, checked on the local stack); other
    // input changes (the script, the env file) run `update`, which converges without a new claim on the
    // container (see rolloutScript). Rolling across hosts: the program makes this rollout wait for others
    // through opts.dependsOn.
    new command.local.Command(`${name}-rollout`, modalCommandArgs(script, stdin, triggers), {
      parent: this,
      dependsOn: opts?.dependsOn,
    });

    this.url =
      domains.length > 0
        ? pulumi.output(`https://${domains[0]}/`)
        : hostPort !== undefined
          ? pulumi.interpolate`http://[${target.address}]:${hostPort}/`
          : pulumi.output(`${delivery.app}:${settings.port}`);
    this.registerOutputs({ url: this.url });
  }
}

/**
 * Names this resource's deployment: a hash of its triggers. The tag keeps it apart from the instances of
 * the service script before the proxy, whose delete checks this label (see docs/upgrading.md, "Serving").
 */
function instanceOf(triggers: string[]): string {
  return crypto
    .createHash("sha256")
    .update(JSON.stringify(["proxy", ...triggers]))
    .digest("hex")
    .slice(0, 12);
}
