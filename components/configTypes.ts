/** The validated shape of stack config, its defaults and allowed values (see config.ts). */
import * as pulumi from "@pulumi/pulumi";
import { CiConfig } from "./ciConfig";

export const PROJECT = "hcloud-deploy";
/** App names become container names, image repositories and resource names. */
export const APP_NAME = /^[a-z][a-z0-9-]{0,30}$/;
/** A digest-pinned image reference, `registry/name@sha256:<64 hex>`. */
export const DIGEST_REF = /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}$/;
export const DELIVERY_MODES = ["tarball", "registry"] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];
export const HOST_REPLACEMENT_POLICIES = ["on-change", "on-generation"] as const;
export type HostReplacementPolicy = (typeof HOST_REPLACEMENT_POLICIES)[number];
export const RESTART_POLICIES = ["always", "unless-stopped", "on-failure"] as const;
/** Hetzner Cloud locations (the API's `location.name`). */
export const LOCATIONS = ["fsn1", "nbg1", "hel1", "ash", "hil", "sin"] as const;

/** Defaults, mirrored by the `config:` block of Pulumi.yaml (a unit test keeps the two in step). */
export const DEFAULTS = {
  serverType: "cx22",
  image: "debian-12",
  generation: 1,
  delivery: "tarball" as DeliveryMode,
  dockerfile: "Dockerfile",
  memory: "256m",
  cpus: 1,
  restart: "unless-stopped" as (typeof RESTART_POLICIES)[number],
  healthPath: "/",
  healthTimeoutSeconds: 60,
  healthIntervalSeconds: 2,
  hostReplacement: "on-generation" as HostReplacementPolicy,
  readinessTimeoutSeconds: 600,
  registry: { server: "ghcr.io", ipv6: false },
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

export type ImageSource =
  | { readonly kind: "build"; readonly context: string; readonly dockerfile: string }
  | { readonly kind: "prebuilt"; readonly ref: string };

export interface HealthCheck {
  readonly path: string;
  readonly timeoutSeconds: number;
  readonly intervalSeconds: number;
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
  readonly restart: (typeof RESTART_POLICIES)[number];
  readonly health: HealthCheck;
}

export interface RegistryConfig {
  readonly server: string;
  readonly namespace: string;
  readonly username: string;
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

/** The raw values as stack config holds them; secrets in plain text, for validation only. */
export interface RawConfig {
  readonly [key: string]: unknown;
}
