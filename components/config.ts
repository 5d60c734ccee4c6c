import * as net from "net";
import * as pulumi from "@pulumi/pulumi";
import { CI_SECRET_KEYS, CiConfig, CiPlainSecrets, parseCiConfig } from "./ciConfig";
import { parseCidr } from "./cidr";
import { ConfigError, ConfigNode, requireUnique } from "./configReader";
import { parsePublicKey, publicKeyOfPrivateKey } from "./sshKeys";

export { ConfigError } from "./configReader";

export const PROJECT = "hcloud-deploy";
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

const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;
const APP_NAME = /^[a-z][a-z0-9-]{0,30}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DIGEST_REF = /^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+@sha256:[0-9a-f]{64}$/;
const MEMORY = /^\d+[bkmg]?$/;
const SSH_PORT = 22;

function key(name: string): string {
  return `${PROJECT}:${name}`;
}

function node(raw: RawConfig, name: string): ConfigNode {
  return new ConfigNode(key(name), raw[name] as never);
}

function parseHost(n: ConfigNode): HostConfig {
  const host: HostConfig = {
    name: n.field("name").matching(HOST_NAME, "a lowercase hostname label of at most 32 characters"),
    location: n.field("location").oneOf(LOCATIONS),
    serverType: n.field("serverType").matching(/^[a-z0-9-]+$/, "a Hetzner server type", DEFAULTS.serverType),
    image: n.field("image").matching(/^[a-z0-9.-]+$/, "a Hetzner image name", DEFAULTS.image),
    generation: n.field("generation").integer(1, 1_000_000, DEFAULTS.generation),
    dns64Servers: n
      .field("dns64Servers")
      .optionalItems()
      .map((s) => {
        const address = s.string();
        if (!net.isIPv6(address)) s.fail(`"${address}" is not an IPv6 address`);
        return address;
      }),
  };
  n.done();
  return host;
}

function parseHosts(raw: RawConfig): HostConfig[] {
  const list = node(raw, "hosts");
  if (!list.present) list.fail("is required: list at least one host");
  const nodes = list.items();
  if (nodes.length === 0) list.fail("must list at least one host");
  const hosts = nodes.map(parseHost);
  requireUnique(hosts, nodes, (h) => h.name, "host name");
  return hosts;
}

function parseSource(n: ConfigNode, pin: string | undefined): ImageSource {
  const build = n.field("build");
  const image = n.field("image");
  if (build.present && image.present) n.fail('set either "build" or "image", not both');
  if (pin !== undefined) return { kind: "prebuilt", ref: pin };
  if (image.present) {
    return {
      kind: "prebuilt",
      ref: image.matching(DIGEST_REF, "a digest-pinned reference (registry/name@sha256:…)"),
    };
  }
  if (!build.present) n.fail('needs "build" (a Docker context) or "image" (a prebuilt digest reference)');
  const source: ImageSource = {
    kind: "build",
    context: build.field("context").string(),
    dockerfile: build.field("dockerfile").string(DEFAULTS.dockerfile),
  };
  build.done();
  return source;
}

function parseHealth(n: ConfigNode): HealthCheck {
  if (!n.present) {
    return {
      path: DEFAULTS.healthPath,
      timeoutSeconds: DEFAULTS.healthTimeoutSeconds,
      intervalSeconds: DEFAULTS.healthIntervalSeconds,
    };
  }
  const health = {
    path: n
      .field("path")
      .matching(/^\/[^\s'"\\`$]*$/, "an absolute URL path without quotes or spaces", DEFAULTS.healthPath),
    timeoutSeconds: n.field("timeoutSeconds").integer(1, 3600, DEFAULTS.healthTimeoutSeconds),
    intervalSeconds: n.field("intervalSeconds").integer(1, 60, DEFAULTS.healthIntervalSeconds),
  };
  n.done();
  return health;
}

function parseApp(n: ConfigNode, pins: Record<string, string>): AppConfig {
  const name = n
    .field("name")
    .matching(APP_NAME, "a lowercase name of at most 31 characters starting with a letter");
  const port = n.field("port").integer(1, 65535);
  const hostPortNode = n.field("hostPort");
  const hostPort = hostPortNode.integer(1, 65535, port);
  if (hostPort === SSH_PORT) hostPortNode.fail(`${SSH_PORT} is reserved for SSH`);
  const envNode = n.field("env");
  const env = envNode.stringMap();
  for (const [k] of Object.entries(env)) {
    if (!ENV_NAME.test(k)) envNode.fail(`"${k}" is not a valid environment variable name`);
  }
  const secretEnvNode = n.field("secretEnv");
  const secretEnv = secretEnvNode.strings([]);
  for (const k of secretEnv) {
    if (!ENV_NAME.test(k)) secretEnvNode.fail(`"${k}" is not a valid environment variable name`);
    if (k in env) secretEnvNode.fail(`"${k}" is also set in env; set it in one place`);
  }
  const hostsNode = n.field("hosts");
  const hosts = hostsNode.strings();
  if (hosts.length === 0) hostsNode.fail("must name at least one host");
  const app: AppConfig = {
    name,
    hosts,
    source: parseSource(n, pins[name]),
    delivery: n.field("delivery").oneOf(DELIVERY_MODES, DEFAULTS.delivery),
    port,
    hostPort,
    env,
    secretEnv,
    memory: n.field("memory").matching(MEMORY, 'a Docker memory size such as "256m"', DEFAULTS.memory),
    cpus: n.field("cpus").number(0.01, 256, DEFAULTS.cpus),
    restart: n.field("restart").oneOf(RESTART_POLICIES, DEFAULTS.restart),
    health: parseHealth(n.field("health")),
  };
  n.done();
  return app;
}

function parseApps(raw: RawConfig, hosts: HostConfig[], pins: Record<string, string>): AppConfig[] {
  const list = node(raw, "apps");
  if (!list.present) return [];
  const nodes = list.items();
  const apps = nodes.map((n) => parseApp(n, pins));
  requireUnique(apps, nodes, (a) => a.name, "app name");

  const hostNames = new Set(hosts.map((h) => h.name));
  apps.forEach((app, i) => {
    const hostsNode = nodes[i].field("hosts");
    for (const h of app.hosts) {
      if (!hostNames.has(h)) hostsNode.fail(`host "${h}" is not defined in ${key("hosts")}`);
    }
    requireUnique(
      app.hosts,
      app.hosts.map(() => hostsNode),
      (h) => h,
      "host",
    );
  });
  // Two apps publishing the same port on one host would fail only at `docker run`, after the swap.
  for (const host of hosts) {
    const seen = new Map<number, string>();
    apps.forEach((app, i) => {
      if (!app.hosts.includes(host.name)) return;
      const other = seen.get(app.hostPort);
      if (other)
        nodes[i]
          .field("hostPort")
          .fail(`port ${app.hostPort} on host "${host.name}" is already used by app "${other}"`);
      seen.set(app.hostPort, app.name);
    });
  }
  return apps;
}

function parseRegistry(raw: RawConfig): RegistryConfig {
  const n = node(raw, "registry");
  if (!n.present) n.fail('is required: { "namespace": "<owner>", "username": "<user>" }');
  const registry: RegistryConfig = {
    // Docker refuses image references with an IPv6 literal, so a registry needs a name.
    server: n
      .field("server")
      .matching(/^[a-z0-9.-]+(:\d+)?$/, "a registry host name with optional :port", DEFAULTS.registry.server),
    namespace: n
      .field("namespace")
      .matching(/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/, "a lowercase registry namespace"),
    username: n.field("username").string(),
    ipv6: n.field("ipv6").boolean(DEFAULTS.registry.ipv6),
  };
  n.done();
  return registry;
}

function parsePins(raw: RawConfig): Record<string, string> {
  const n = node(raw, "imagePins");
  const pins = n.stringMap();
  for (const [app, ref] of Object.entries(pins)) {
    if (!DIGEST_REF.test(ref))
      n.field(app).fail(`"${ref}" is not a digest-pinned reference (registry/name@sha256:…)`);
  }
  return pins;
}

/** Registry pulls need a route to the registry: IPv6 on the registry, or NAT64/DNS64 on the host. */
function checkRegistryReachability(apps: AppConfig[], hosts: HostConfig[], registry: RegistryConfig): void {
  for (const app of apps.filter((a) => a.delivery === "registry")) {
    for (const hostName of app.hosts) {
      const host = hosts.find((h) => h.name === hostName) as HostConfig;
      if (registry.ipv6 || host.dns64Servers.length > 0) continue;
      throw new ConfigError(
        `${key("apps")}[${apps.indexOf(app)}].delivery`,
        `app "${app.name}" uses "registry" delivery, but host "${hostName}" is IPv6-only and ${registry.server} ` +
          `has no IPv6 address: set dns64Servers on the host (NAT64/DNS64), or use "tarball" delivery`,
      );
    }
  }
}

export interface PlainSecrets {
  readonly sshPrivateKey?: string;
  readonly registryPushToken?: string;
  readonly registryPullToken?: string;
  readonly appSecrets?: unknown;
  readonly hcloudToken?: string;
  /** The CI block's own secrets (its push token is registryPushToken above). */
  readonly ci?: Omit<CiPlainSecrets, "registryPushToken">;
}

function requireSecret(value: string | undefined, name: string, why: string): void {
  if (value === undefined || value === "") {
    throw new ConfigError(key(name), `is required ${why}: pulumi config set --secret ${key(name)} <value>`);
  }
}

function checkSecrets(config: Omit<DeployConfig, "secrets" | "ci">, secrets: PlainSecrets): void {
  if (!secrets.hcloudToken) {
    throw new ConfigError(
      "hcloud:token",
      "is required: pulumi config set --secret hcloud:token <token> (or HCLOUD_TOKEN)",
    );
  }
  requireSecret(secrets.sshPrivateKey, "sshPrivateKey", "to reach the hosts");
  let pair;
  try {
    pair = publicKeyOfPrivateKey(secrets.sshPrivateKey as string);
  } catch (err) {
    throw new ConfigError(key("sshPrivateKey"), (err as Error).message);
  }
  if (pair.blob !== parsePublicKey(config.sshPublicKey).blob) {
    throw new ConfigError(key("sshPrivateKey"), `does not match ${key("sshPublicKey")}`);
  }
  if (config.apps.some((a) => a.source.kind === "build")) {
    requireSecret(secrets.registryPushToken, "registryPushToken", "to push the images this stack builds");
  }
  if (config.apps.some((a) => a.delivery === "registry")) {
    requireSecret(secrets.registryPullToken, "registryPullToken", 'for apps with "registry" delivery');
  }
  const appSecrets = new ConfigNode(key("appSecrets"), (secrets.appSecrets ?? {}) as never);
  for (const app of config.apps) {
    if (app.secretEnv.length === 0) continue;
    const values = appSecrets.field(app.name);
    for (const name of app.secretEnv) {
      const value = values.present ? values.field(name) : values;
      if (!value.present || typeof value.value !== "string") {
        throw new ConfigError(
          `${key("appSecrets")}.${app.name}.${name}`,
          `is required by app "${app.name}": pulumi config set --secret --path '${key("appSecrets")}.${app.name}.${name}' <value>`,
        );
      }
    }
  }
}

/**
 * Validates raw stack config. Pure: everything it needs comes in as arguments, so tests can run it as a
 * table. Throws a ConfigError naming the first bad key.
 */
export function parseConfig(
  stack: string,
  raw: RawConfig,
  secrets: PlainSecrets,
): Omit<DeployConfig, "secrets"> {
  const sshPublicKeyNode = node(raw, "sshPublicKey");
  const sshPublicKey = sshPublicKeyNode.string();
  try {
    parsePublicKey(sshPublicKey);
  } catch (err) {
    sshPublicKeyNode.fail(`does not parse as an SSH public key: ${(err as Error).message}`);
  }
  const cidrsNode = node(raw, "sshAllowedCidrs");
  const sshAllowedCidrs = cidrsNode.items().map((n) => {
    try {
      return parseCidr(n.string()) && (n.value as string);
    } catch (err) {
      return n.fail((err as Error).message);
    }
  });
  if (sshAllowedCidrs.length === 0) cidrsNode.fail("must allow at least one CIDR, or nobody can deploy");

  const hosts = parseHosts(raw);
  const pins = parsePins(raw);
  const apps = parseApps(raw, hosts, pins);
  for (const app of Object.keys(pins)) {
    if (!apps.some((a) => a.name === app))
      node(raw, "imagePins").field(app).fail(`app "${app}" is not defined`);
  }
  const registry = parseRegistry(raw);
  checkRegistryReachability(apps, hosts, registry);

  const config = {
    project: PROJECT,
    stack,
    hosts,
    apps,
    registry,
    sshPublicKey: sshPublicKey.trim(),
    sshAllowedCidrs,
    hostReplacement: node(raw, "hostReplacement").oneOf(HOST_REPLACEMENT_POLICIES, DEFAULTS.hostReplacement),
    readinessTimeoutSeconds: node(raw, "readinessTimeoutSeconds").integer(
      30,
      3600,
      DEFAULTS.readinessTimeoutSeconds,
    ),
  };
  checkSecrets(config, secrets);
  const ci = parseCiConfig(stack, raw.ci, { ...secrets.ci, registryPushToken: secrets.registryPushToken });
  return { ...config, ci };
}

const OBJECT_KEYS = ["hosts", "apps", "registry", "sshAllowedCidrs", "imagePins", "ci"] as const;
const STRING_KEYS = ["sshPublicKey", "hostReplacement", "readinessTimeoutSeconds"] as const;

function readObject(cfg: pulumi.Config, k: string): unknown {
  try {
    return cfg.getObject(k);
  } catch {
    throw new ConfigError(key(k), "is not a valid YAML/JSON value");
  }
}

/** The only reader of pulumi.Config in the program. */
export function loadConfig(): DeployConfig {
  const cfg = new pulumi.Config(PROJECT);
  const raw: Record<string, unknown> = {};
  for (const k of OBJECT_KEYS) raw[k] = readObject(cfg, k);
  for (const k of STRING_KEYS) raw[k] = cfg.get(k);

  // Plain-text reads serve validation only; the program uses the requireSecret/getSecret Outputs below.
  const plain: PlainSecrets = {
    sshPrivateKey: cfg.get("sshPrivateKey"),
    registryPushToken: cfg.get("registryPushToken"),
    registryPullToken: cfg.get("registryPullToken"),
    appSecrets: readObject(cfg, "appSecrets"),
    hcloudToken: new pulumi.Config("hcloud").get("token") ?? process.env.HCLOUD_TOKEN,
    ci: Object.fromEntries(CI_SECRET_KEYS.map((k) => [k, cfg.get(k)])),
  };
  const config = parseConfig(pulumi.getStack(), raw, plain);
  return {
    ...config,
    secrets: {
      sshPrivateKey: cfg.requireSecret("sshPrivateKey"),
      registryPushToken: plain.registryPushToken ? cfg.requireSecret("registryPushToken") : undefined,
      registryPullToken: plain.registryPullToken ? cfg.requireSecret("registryPullToken") : undefined,
      appSecrets: (cfg.getSecretObject<Record<string, Record<string, string>>>("appSecrets") ??
        pulumi.secret({})) as pulumi.Output<Record<string, Record<string, string>>>,
      ci: config.ci.enabled
        ? {
            githubToken: cfg.requireSecret("ciGithubToken"),
            actionsSecrets: Object.fromEntries(
              config.ci.secrets.map((s) => [s.name, cfg.requireSecret(s.configKey)]),
            ),
          }
        : undefined,
    },
  };
}
