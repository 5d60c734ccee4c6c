import * as net from "net";
import * as pulumi from "@pulumi/pulumi";
import { CI_SECRET_KEYS, CiPlainSecrets, parseCiConfig } from "./ciConfig";
import { parseCidr } from "./cidr";
import { checkRegistryReachability, parseApps, parsePins } from "./configApps";
import { ConfigError, ConfigNode, key, node, requireUnique } from "./configReader";
import {
  DEFAULTS,
  DeployConfig,
  HOST_REPLACEMENT_POLICIES,
  HostConfig,
  LOCATIONS,
  PROJECT,
  RawConfig,
  RegistryConfig,
} from "./configTypes";
import { parsePublicKey, publicKeyOfPrivateKey } from "./sshKeys";

export { ConfigError } from "./configReader";

export * from "./configTypes";

const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

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
