import * as pulumi from "@pulumi/pulumi";
import { HOST_REPLACEMENT_POLICIES } from "../components/hetznerHost";
import { parsePublicKey } from "../components/sshKeys";
import { checkRegistryReachability, parseApps, parsePins } from "./apps";
import { DEFAULT_ENDPOINT } from "./catalog";
import { CI_SECRET_KEYS, parseCiConfig } from "./ci";
import { parseCidr } from "./cidr";
import { parseHosts } from "./hosts";
import { checkInternalNames, parsePrivateNetwork } from "./internalNames";
import { ConfigKeyName, configKey, PROJECT } from "./schema";
import { ConfigError, node, RawConfig } from "./reader";
import { checkSecrets, PlainSecrets } from "./secrets";
import { parseRollout, parseTls } from "./serving";
import { DEFAULTS, DeployConfig, RegistryConfig } from "./types";

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
    insecure: n.field("insecure").boolean(DEFAULTS.registry.insecure),
  };
  n.done();
  return registry;
}

function parseSshAllowedCidrs(raw: RawConfig): string[] {
  const cidrsNode = node(raw, "sshAllowedCidrs");
  const cidrs = cidrsNode.items().map((n) => {
    try {
      return parseCidr(n.string()) && (n.value as string);
    } catch (err) {
      return n.fail((err as Error).message);
    }
  });
  if (cidrs.length === 0) cidrsNode.fail("must allow at least one CIDR, or nobody can deploy");
  return cidrs;
}

/**
 * Validates raw stack config. Pure: everything it needs comes in as arguments, so tests can run it as a
 * table. Throws a ConfigError naming the first bad key.
 */
export function parseConfig(
  stack: string,
  raw: RawConfig,
  secrets: PlainSecrets,
): Omit<DeployConfig, "secrets" | "catalogAccess" | "registryAccess" | "sourceAccess"> {
  const sshPublicKeyNode = node(raw, "sshPublicKey");
  const sshPublicKey = sshPublicKeyNode.string();
  try {
    parsePublicKey(sshPublicKey);
  } catch (err) {
    sshPublicKeyNode.fail(`does not parse as an SSH public key: ${(err as Error).message}`);
  }
  const sshAllowedCidrs = parseSshAllowedCidrs(raw);

  const hosts = parseHosts(raw);
  const pins = parsePins(raw);
  const rollout = parseRollout(node(raw, "rollout"), DEFAULTS.rollout);
  const apps = parseApps(raw, hosts, pins, rollout);
  for (const app of Object.keys(pins)) {
    if (!apps.some((a) => a.name === app))
      node(raw, "imagePins").field(app).fail(`app "${app}" is not defined`);
  }
  const registry = parseRegistry(raw);
  checkRegistryReachability(apps, hosts, registry);
  const privateNetwork = parsePrivateNetwork(raw, hosts, apps);
  checkInternalNames(apps, node(raw, "apps").optionalItems(), hosts);

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
    deliveryParallelism: node(raw, "deliveryParallelism").integer(1, 64, DEFAULTS.deliveryParallelism),
    rollout,
    tls: parseTls(raw),
    keepImages: node(raw, "keepImages").integer(1, 100, DEFAULTS.keepImages),
    deleteData: node(raw, "deleteData").boolean(false),
    privateNetwork,
  };
  checkSecrets(config, secrets);
  const ci = parseCiConfig(stack, raw.ci, {
    ...secrets.ci,
    registryPushToken: secrets.registryPushToken,
    sourceToken: secrets.sourceToken,
  });
  return { ...config, ci };
}

const OBJECT_KEYS: readonly ConfigKeyName[] = [
  "hosts",
  "apps",
  "registry",
  "sshAllowedCidrs",
  "imagePins",
  "rollout",
  "tls",
  "ci",
];
const STRING_KEYS: readonly ConfigKeyName[] = [
  "sshPublicKey",
  "hostReplacement",
  "readinessTimeoutSeconds",
  "deliveryParallelism",
  "keepImages",
  "deleteData",
  "privateNetwork",
];

function readObject(cfg: pulumi.Config, k: ConfigKeyName): unknown {
  try {
    return cfg.getObject(k);
  } catch {
    throw new ConfigError(configKey(k), "is not a valid YAML/JSON value");
  }
}

/** The only reader of pulumi.Config in the program. */
export function loadConfig(): DeployConfig {
  try {
    return readConfig();
  } catch (err) {
    // RunError: Pulumi prints the one-line message without a stack trace.
    if (err instanceof ConfigError) throw new pulumi.RunError(err.message);
    throw err;
  }
}

function readConfig(): DeployConfig {
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
    sourceToken: cfg.get("sourceToken"),
    ci: Object.fromEntries(CI_SECRET_KEYS.map((k) => [k, cfg.get(k)])),
  };
  const config = parseConfig(pulumi.getStack(), raw, plain);
  return {
    ...config,
    catalogAccess: {
      endpoint:
        new pulumi.Config("hcloud").get("endpoint") ?? process.env.HCLOUD_ENDPOINT ?? DEFAULT_ENDPOINT,
      token: plain.hcloudToken as string,
    },
    // The preflight reads prebuilt images' platforms with the read-only token where there is one.
    registryAccess: {
      server: config.registry.server,
      username: config.registry.username,
      token: plain.registryPullToken || plain.registryPushToken || undefined,
      insecure: config.registry.insecure,
    },
    sourceAccess: { token: plain.sourceToken || undefined },
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
