import type { ImageSource } from "../components/appImage";
import { DELIVERY_MODES } from "../components/delivery";
import { HealthCheck, RESTART_POLICIES } from "../components/service";
import { APP_NAME, configKey, DIGEST_REF } from "./schema";
import { LoadBalancerDraft, parseLoadBalancer, resolveLoadBalancers } from "./loadBalancer";
import { ConfigError, ConfigNode, node, RawConfig, requireUnique } from "./reader";
import { checkHostPortWithDomains, checkPublicPorts, parseDomains, parseRollout } from "./serving";
import { AppConfig, DEFAULTS, HostConfig, RegistryConfig, RolloutConfig } from "./types";

/** The apps of stack config: images, delivery, ports, environment, limits and health checks. */

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MEMORY = /^\d+[bkmg]?$/;
const SSH_PORT = 22;

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

type ParsedApp = Omit<AppConfig, "loadBalancer"> & { readonly draft?: LoadBalancerDraft };

function parseApp(n: ConfigNode, pins: Record<string, string>, rollout: RolloutConfig): ParsedApp {
  const name = n
    .field("name")
    .matching(APP_NAME, "a lowercase name of at most 31 characters starting with a letter");
  const port = n.field("port").integer(1, 65535);
  const hostPortNode = n.field("hostPort");
  const hostPort = hostPortNode.integer(1, 65535, port);
  if (hostPort === SSH_PORT) hostPortNode.fail(`${SSH_PORT} is reserved for SSH`);
  const domains = parseDomains(n.field("domains"));
  const draft = parseLoadBalancer(n.field("loadBalancer"));
  // Behind a load balancer TLS ends there and the hosts serve plain HTTP on hostPort.
  if (!draft) checkHostPortWithDomains(n, domains);
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
  const app: ParsedApp = {
    name,
    hosts,
    source: parseSource(n, pins[name]),
    delivery: n.field("delivery").oneOf(DELIVERY_MODES, DEFAULTS.delivery),
    port,
    hostPort,
    domains,
    rollout: parseRollout(n.field("rollout"), rollout),
    env,
    secretEnv,
    memory: n.field("memory").matching(MEMORY, 'a Docker memory size such as "256m"', DEFAULTS.memory),
    cpus: n.field("cpus").number(0.01, 256, DEFAULTS.cpus),
    restart: n.field("restart").oneOf(RESTART_POLICIES, DEFAULTS.restart),
    health: parseHealth(n.field("health")),
    draft,
  };
  n.done();
  return app;
}

export function parseApps(
  raw: RawConfig,
  hosts: HostConfig[],
  pins: Record<string, string>,
  rollout: RolloutConfig,
): AppConfig[] {
  const list = node(raw, "apps");
  if (!list.present) return [];
  const nodes = list.items();
  const parsed = nodes.map((n) => parseApp(n, pins, rollout));
  const drafts = parsed.map(({ draft: _, ...app }) => app);
  requireUnique(drafts, nodes, (a) => a.name, "app name");

  const hostNames = new Set(hosts.map((h) => h.name));
  drafts.forEach((app, i) => {
    const hostsNode = nodes[i].field("hosts");
    for (const h of app.hosts) {
      if (!hostNames.has(h)) hostsNode.fail(`host "${h}" is not defined in ${configKey("hosts")}`);
    }
    requireUnique(
      app.hosts,
      app.hosts.map(() => hostsNode),
      (h) => h,
      "host",
    );
  });
  const balancers = resolveLoadBalancers(
    drafts,
    parsed.map((p) => p.draft),
    nodes,
    hosts,
  );
  const apps = drafts.map((app, i) => (balancers[i] ? { ...app, loadBalancer: balancers[i] } : app));
  // Two apps on one proxy port of a host would fail only when the proxy loads the second route.
  checkPublicPorts(apps, nodes, hosts);
  return apps;
}

export function parsePins(raw: RawConfig): Record<string, string> {
  const n = node(raw, "imagePins");
  const pins = n.stringMap();
  for (const [app, ref] of Object.entries(pins)) {
    if (!DIGEST_REF.test(ref))
      n.field(app).fail(`"${ref}" is not a digest-pinned reference (registry/name@sha256:…)`);
  }
  return pins;
}

/** Registry pulls need a route to the registry: IPv6 on the registry, or NAT64/DNS64 on the host. */
export function checkRegistryReachability(
  apps: AppConfig[],
  hosts: HostConfig[],
  registry: RegistryConfig,
): void {
  for (const app of apps.filter((a) => a.delivery === "registry")) {
    for (const hostName of app.hosts) {
      const host = hosts.find((h) => h.name === hostName) as HostConfig;
      if (registry.ipv6 || host.dns64Servers.length > 0) continue;
      throw new ConfigError(
        `${configKey("apps")}[${apps.indexOf(app)}].delivery`,
        `app "${app.name}" uses "registry" delivery, but host "${hostName}" is IPv6-only and ${registry.server} ` +
          `has no IPv6 address: set dns64Servers on the host (NAT64/DNS64), or use "tarball" delivery`,
      );
    }
  }
}
