/** The validated shape of stack config, its defaults and allowed values (see loader.ts). */
import type { GitSource } from "./gitSource";
import type * as pulumi from "@pulumi/pulumi";
import type { ImageSource, Registry } from "../components/appImage";
import type { ProxyTls } from "../components/shell/caddy";
import type { DeliveryMode } from "../components/delivery";
import { HOST_DEFAULTS, HostReplacementPolicy } from "../components/hetznerHost";
import { LOAD_BALANCER_DEFAULTS } from "../components/loadBalancer";
import { PRIVATE_NETWORK_DEFAULTS } from "../components/privateNetwork";
import { HealthCheck, RestartPolicy, RolloutStrategy, SERVICE_DEFAULTS } from "../components/service";
import type { VolumeMount } from "../components/shell/volumes";
import { DEFAULT_PARALLELISM } from "../components/shell/tarball";
import type { CatalogAccess } from "./catalog";
import type { CiConfig } from "./ci";
import type { RegistryAccess } from "./registryImage";
import { CONFIG_DEFAULTS } from "./schema";
/** Hetzner Cloud locations (the API's `location.name`). */
export const LOCATIONS = ["fsn1", "nbg1", "hel1", "ash", "hil", "sin"] as const;

/**
 * Defaults, mirrored by the `config:` block of Pulumi.yaml (a unit test keeps the two in step). Where a
 * component has the same default, it is the component's.
 */
export const DEFAULTS = {
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
  deliveryParallelism: DEFAULT_PARALLELISM,
  keepImages: SERVICE_DEFAULTS.keepImages,
  registry: CONFIG_DEFAULTS.registry,
  loadBalancerType: LOAD_BALANCER_DEFAULTS.type,
  loadBalancerNetwork: LOAD_BALANCER_DEFAULTS.network,
  privateNetwork: PRIVATE_NETWORK_DEFAULTS.ipRange,
  /** One host of an app at a time: a version that fails only under real traffic hits one host. */
  rollout: { hostsAtOnce: 1, drainSeconds: SERVICE_DEFAULTS.drainSeconds } as RolloutConfig,
  tls: HOST_DEFAULTS.tls,
};

/** How an app changes across its hosts. */
export interface RolloutConfig {
  /** How many of the app's hosts roll at the same time (the others wait, in host order). */
  readonly hostsAtOnce: number;
  /** Upper bound for requests in flight to the old version to finish, in seconds. */
  readonly drainSeconds: number;
}

export interface HostConfig {
  readonly name: string;
  readonly location: string;
  /** Unset: what the host's server was created with, or the location's default for a new server. */
  readonly serverType?: string;
  /** Unset: what the host's server was created with, or the default image for a new server. */
  readonly image?: string;
  /** Bumping it is the deliberate way to replace the host under the `on-generation` policy. */
  readonly generation: number;
  /** DNS64 resolvers (with NAT64 behind them); without them the host reaches IPv6 destinations only. */
  readonly dns64Servers: readonly string[];
}

export interface AppConfig {
  readonly name: string;
  readonly hosts: readonly string[];
  /** A build context here, a prebuilt image, or a commit of another repository (config/gitSource.ts). */
  readonly source: ImageSource | GitSource;
  readonly delivery: DeliveryMode;
  readonly port: number;
  /**
   * Port the host proxy serves the app on (plain HTTP); unused with domains unless behind a load
   * balancer (which defaults it to `port`). Undefined without domains: no proxy route and no firewall
   * port; other apps on the host reach it on the apps' network as `<name>:<port>`.
   */
  readonly hostPort: number | undefined;
  /**
   * Whether the hosts' firewalls open the app's proxy ports to the internet; false: only the stack's own
   * hosts reach them, over the private network (as `<name>.internal:<hostPort>`) and load balancers.
   */
  readonly public: boolean;
  /**
   * DNS names the app is served under over HTTPS (80 redirects): by the host proxy, or, with a load
   * balancer, by the load balancer (a Hetzner managed certificate) while the hosts serve it plain HTTP on
   * hostPort. Empty: plain HTTP on hostPort.
   */
  readonly domains: readonly string[];
  readonly rollout: RolloutConfig;
  /** `recreate` (the default with volumes) stops the old version before the new one starts. */
  readonly strategy: RolloutStrategy;
  /** Containers of the app on each of its hosts, balanced by the host proxy; memory and cpus are per replica. */
  readonly replicas: number;
  /** Host directories mounted into the app's containers; empty: none. */
  readonly volumes: readonly VolumeMount[];
  readonly env: Readonly<Record<string, string>>;
  readonly secretEnv: readonly string[];
  readonly memory: string;
  readonly cpus: number;
  readonly restart: RestartPolicy;
  readonly health: HealthCheck;
  /** Runs once per new image or settings change before any host rolls (a migration); default none. */
  readonly release?: ReleaseConfig;
  /**
   * Apps listed before this one whose rollouts (on all their hosts) come first: its release command and
   * rollouts start after them, as a migration needs its database. Default none.
   */
  readonly after: readonly string[];
  /** Scheduled one-off runs of the app's image on its first host (systemd timers there); default none. */
  readonly jobs: readonly JobConfig[];
  /** One hcloud Load Balancer in front of the app's hosts; undefined: clients reach each host directly. */
  readonly loadBalancer?: LoadBalancerConfig;
}

export interface JobConfig {
  readonly name: string;
  /** As written in the config: five-field cron syntax or an @ shortcut. */
  readonly schedule: string;
  /** The systemd calendar expression the schedule becomes (config/schedule.ts). */
  readonly calendar: string;
  /** Program and arguments, run as written in a one-off container (the program replaces the entrypoint). */
  readonly command: readonly string[];
  /** How long a run may take, in seconds; a longer one is stopped. */
  readonly timeoutSeconds: number;
}

export interface ReleaseConfig {
  /** Program and arguments, run as written in a one-off container (the program replaces the entrypoint). */
  readonly command: readonly string[];
  /** How long it may run, in seconds. */
  readonly timeoutSeconds: number;
}

export interface LoadBalancerConfig {
  /** Hetzner load balancer type, e.g. `lb11`. */
  readonly type: string;
  /** Hetzner location; the first host's by default. Every host of the app is in its network zone. */
  readonly location: string;
  /** Private IPv4 range between the load balancer and the hosts. */
  readonly network: string;
}

export interface RegistryConfig extends Registry {
  /** Whether the registry answers over IPv6; ghcr.io does not. */
  readonly ipv6: boolean;
  /** Plain HTTP instead of HTTPS: only for a registry on a network of your own (the local stack's). */
  readonly insecure: boolean;
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
  /** The stack's rollout defaults (each app's own are in AppConfig.rollout). */
  readonly rollout: RolloutConfig;
  /** How host proxies get certificates for apps with domains. */
  readonly tls: ProxyTls;
  /** Releases of each app every host keeps after a rollout, besides the images containers use. */
  readonly keepImages: number;
  /**
   * Whether a Hetzner Volume that leaves the config (or the stack, `pulumi destroy`) is deleted with its
   * data; false: it is kept, detached. Takes effect from the `pulumi up` after it is set.
   */
  readonly deleteData: boolean;
  /**
   * The stack network's IPv4 range: with two hosts or more they join it, and apps reach each other over it
   * as `<app>.internal`.
   */
  readonly privateNetwork: string;
  /** Hosts one app's delivery works on at once, and the longest relay chain between them. */
  readonly deliveryParallelism: number;
  /** The opt-in GitHub setup; `{ enabled: false }` unless hcloud-deploy:ci turns it on. */
  readonly ci: CiConfig;
  /** The API the provider talks to (`hcloud:endpoint`) and its token, for the preflight's catalog. */
  readonly catalogAccess: CatalogAccess;
  /** The stack's registry and its read-only token, for the preflight's look at prebuilt images. */
  readonly registryAccess: RegistryAccess;
  /** The token for apps built from other Git repositories (build.git), plain: git reads it at preview. */
  readonly sourceAccess: { readonly token: string | undefined };
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
