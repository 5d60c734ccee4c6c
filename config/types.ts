/** The validated shape of stack config, its defaults and allowed values (see loader.ts). */
import type * as pulumi from "@pulumi/pulumi";
import type { ImageSource, Registry } from "../components/appImage";
import type { DeliveryMode } from "../components/delivery";
import { HOST_DEFAULTS, HostReplacementPolicy } from "../components/hetznerHost";
import { HealthCheck, RestartPolicy, SERVICE_DEFAULTS } from "../components/service";
import type { CiConfig } from "./ci";
import { CONFIG_DEFAULTS } from "./schema";
/** Hetzner Cloud locations (the API's `location.name`). */
export const LOCATIONS = ["fsn1", "nbg1", "hel1", "ash", "hil", "sin"] as const;

/**
 * Defaults, mirrored by the `config:` block of Pulumi.yaml (a unit test keeps the two in step). Where a
 * component has the same default, it is the component's.
 */
export const DEFAULTS = {
  serverType: HOST_DEFAULTS.serverType,
  image: HOST_DEFAULTS.image,
  generation: HOST_DEFAULTS.generation,
  delivery: "tarball" as DeliveryMode,
  dockerfile: CONFIG_DEFAULTS.dockerfile,
  memory: SERVICE_DEFAULTS.memory,
  cpus: SERVICE_DEFAULTS.cpus,
  restart: SERVICE_DEFAULTS.restart,
  healthPath: SERVICE_DEFAULTS.health.path,
  healthTimeoutSeconds: SERVICE_DEFAULTS.health.timeoutSeconds,
  healthIntervalSeconds: SERVICE_DEFAULTS.health.intervalSeconds,
  hostReplacement: HOST_DEFAULTS.replacementPolicy,
  readinessTimeoutSeconds: HOST_DEFAULTS.readinessTimeoutSeconds,
  keepImages: SERVICE_DEFAULTS.keepImages,
  registry: CONFIG_DEFAULTS.registry,
};

export interface HostConfig {
  readonly name: string;
  readonly location: string;
  readonly serverType: string;
  readonly image: string;
  /** Bumping it is the deliberate way to replace the host under the `on-generation` policy. */
  readonly generation: number;
  /** DNS64 resolvers (with NAT64 behind them); without them the host reaches IPv6 destinations only. */
  readonly dns64Servers: readonly string[];
}

export interface AppConfig {
  readonly name: string;
  readonly hosts: readonly string[];
  readonly source: ImageSource;
  readonly delivery: DeliveryMode;
  readonly port: number;
  readonly hostPort: number;
  readonly env: Readonly<Record<string, string>>;
  readonly secretEnv: readonly string[];
  readonly memory: string;
  readonly cpus: number;
  readonly restart: RestartPolicy;
  readonly health: HealthCheck;
}

export interface RegistryConfig extends Registry {
  /** Whether the registry answers over IPv6; ghcr.io does not. */
  readonly ipv6: boolean;
}

/** Everything the program needs from stack config, validated. Secrets stay Outputs. */
export interface DeployConfig {
  readonly project: string;
  readonly stack: string;
  readonly hosts: readonly HostConfig[];
  readonly apps: readonly AppConfig[];
  readonly registry: RegistryConfig;
  readonly sshPublicKey: string;
  readonly sshAllowedCidrs: readonly string[];
  readonly hostReplacement: HostReplacementPolicy;
  readonly readinessTimeoutSeconds: number;
  /** Releases of each app every host keeps after a rollout, besides the images containers use. */
  readonly keepImages: number;
  /** The opt-in GitHub setup; `{ enabled: false }` unless hcloud-deploy:ci turns it on. */
  readonly ci: CiConfig;
  readonly secrets: {
    readonly sshPrivateKey: pulumi.Output<string>;
    readonly registryPushToken?: pulumi.Output<string>;
    readonly registryPullToken?: pulumi.Output<string>;
    readonly appSecrets: pulumi.Output<Record<string, Record<string, string>>>;
    /** Present when the CI block is on: the GitHub provider's token and each Actions secret's value. */
    readonly ci?: {
      readonly githubToken: pulumi.Output<string>;
      readonly actionsSecrets: Readonly<Record<string, pulumi.Output<string>>>;
    };
  };
}
