import type { ImageSource } from "../components/appImage";
import { DELIVERY_MODES } from "../components/delivery";
import { RELEASE_DEFAULTS } from "../components/releaseCommand";
import {
  HEALTH_TYPES,
  HealthCheck,
  RESTART_POLICIES,
  ROLLOUT_STRATEGIES,
  RolloutStrategy,
} from "../components/service";
import { VOLUME_SIZE_LIMITS } from "../components/hostVolume";
import { VOLUME_NAME, VOLUME_PATH, VolumeMount } from "../components/shell/volumes";
import { JOB_DEFAULTS } from "../components/appJob";
import { GitSource, parseGitBuild } from "./gitSource";
import { APP_NAME, configKey, DIGEST_REF } from "./schema";
import { calendarOf } from "./schedule";
import { LoadBalancerDraft, parseLoadBalancer, resolveLoadBalancers } from "./loadBalancer";
import { ConfigError, ConfigNode, node, RawConfig, requireUnique } from "./reader";
import { checkHostPortWithDomains, checkPublicPorts, parseDomains, parseRollout } from "./serving";
import {
  AppConfig,
  DEFAULTS,
  HostConfig,
  JobConfig,
  RegistryConfig,
  ReleaseConfig,
  RolloutConfig,
} from "./types";

/** The apps of stack config: images, delivery, ports, environment, limits and health checks. */

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Like app names: no dot, so the unit `hcloud-deploy-<app>.<job>` names one job only.
const JOB_NAME = APP_NAME;
const MEMORY = /^\d+[bkmg]?$/;
const SSH_PORT = 22;
// Each replica takes an address on the host's apps' network (a /24 shared by all apps).
const MAX_REPLICAS = 100;

function parseSource(n: ConfigNode, pin: string | undefined): ImageSource | GitSource {
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
  if (build.object().git !== undefined) return parseGitBuild(build);
  const source: ImageSource = {
    kind: "build",
    context: build.field("context").string(),
    dockerfile: build.field("dockerfile").string(DEFAULTS.dockerfile),
  };
  build.done();
  return source;
}

/** A program and its arguments, run in a container (exec form: no shell unless it names one). */
function parseCommand(n: ConfigNode, example: string): string[] {
  const command = n.strings();
  if (command.length === 0 || command[0] === "") n.fail(`must name a program, e.g. ${example}`);
  if (command.some((word) => /[\r\n]/.test(word))) n.fail("must not contain newlines");
  return command;
}

function parseHealth(n: ConfigNode): HealthCheck {
  if (!n.present) {
    return {
      path: DEFAULTS.healthPath,
      timeoutSeconds: DEFAULTS.healthTimeoutSeconds,
      intervalSeconds: DEFAULTS.healthIntervalSeconds,
    };
  }
  const timing = {
    timeoutSeconds: n.field("timeoutSeconds").integer(1, 3600, DEFAULTS.healthTimeoutSeconds),
    intervalSeconds: n.field("intervalSeconds").integer(1, 60, DEFAULTS.healthIntervalSeconds),
  };
  const type = n.field("type").oneOf(HEALTH_TYPES, "http");
  let health: HealthCheck;
  if (type === "tcp") {
    health = { type, ...timing };
  } else if (type === "command") {
    health = {
      type,
      command: parseCommand(n.field("command"), '["pg_isready", "-U", "postgres"]'),
      ...timing,
    };
  } else {
    // No `type` key: an http check hashes as it did before types existed, so no app redeploys for it.
    const path = n
      .field("path")
      .matching(/^\/[^\s'"\\`$]*$/, "an absolute URL path without quotes or spaces", DEFAULTS.healthPath);
    health = { path, ...timing };
  }
  n.done();
  return health;
}

function parseRelease(n: ConfigNode): ReleaseConfig | undefined {
  if (!n.present) return undefined;
  const release = {
    command: parseCommand(n.field("command"), '["./migrate", "up"]'),
    timeoutSeconds: n.field("timeoutSeconds").integer(1, 86400, RELEASE_DEFAULTS.timeoutSeconds),
  };
  n.done();
  return release;
}

function calendarOrFail(n: ConfigNode, schedule: string): string {
  try {
    return calendarOf(schedule);
  } catch (err) {
    return n.fail((err as Error).message);
  }
}

function parseJobs(n: ConfigNode): JobConfig[] {
  const items = n.optionalItems();
  const jobs = items.map((item) => {
    const scheduleNode = item.field("schedule");
    const schedule = scheduleNode.string();
    const calendar = calendarOrFail(scheduleNode, schedule);
    const job = {
      name: item
        .field("name")
        .matching(JOB_NAME, "a lowercase name of at most 31 characters starting with a letter"),
      schedule,
      calendar,
      command: parseCommand(item.field("command"), '["./bin/cleanup", "--older-than", "30d"]'),
      timeoutSeconds: item.field("timeoutSeconds").integer(1, 86400, JOB_DEFAULTS.timeoutSeconds),
    };
    item.done();
    return job;
  });
  requireUnique(jobs, items, (j) => j.name, "job name");
  return jobs;
}

function parseVolumes(n: ConfigNode): VolumeMount[] {
  const items = n.optionalItems();
  const volumes = items.map((item) => {
    const pathNode = item.field("path");
    const volume = {
      name: item
        .field("name")
        .matching(VOLUME_NAME, "a lowercase name of at most 31 characters starting with a letter"),
      path: pathNode.matching(VOLUME_PATH, "an absolute path inside the container, such as /var/lib/app"),
    };
    if (volume.path.split("/").some((part) => part === "." || part === ".."))
      pathNode.fail("must not contain . or .. segments");
    const sizeNode = item.field("size");
    const { min, max } = VOLUME_SIZE_LIMITS;
    const sized = sizeNode.present ? { size: sizeNode.integer(min, max) } : {};
    item.done();
    return { ...volume, ...sized };
  });
  requireUnique(volumes, items, (v) => v.name, "volume name");
  requireUnique(volumes, items, (v) => v.path, "volume path");
  return volumes;
}

/** `recreate` by default for apps with volumes; `overlap` on volumes only when the app says it can share them. */
function parseStrategy(n: ConfigNode, volumes: readonly VolumeMount[]): RolloutStrategy {
  const strategyNode = n.field("strategy");
  const strategy = strategyNode.oneOf(ROLLOUT_STRATEGIES, volumes.length > 0 ? "recreate" : "overlap");
  const writersNode = n.field("allowConcurrentWriters");
  const concurrentWriters = writersNode.boolean(false);
  if (writersNode.present && volumes.length === 0) writersNode.fail("only applies to an app with volumes");
  if (strategy === "overlap" && volumes.length > 0 && !concurrentWriters) {
    strategyNode.fail(
      '"overlap" runs the old and the new version on the same volumes during a rollout: leave strategy ' +
        "out (recreate), or set allowConcurrentWriters: true if the app is safe that way",
    );
  }
  return strategy;
}

/** Containers per host; on volumes more than one only when the app says they may share them. */
function parseReplicas(n: ConfigNode, volumes: readonly VolumeMount[]): number {
  const replicasNode = n.field("replicas");
  const replicas = replicasNode.integer(1, MAX_REPLICAS, 1);
  if (replicas > 1 && volumes.length > 0 && !n.field("allowConcurrentWriters").boolean(false)) {
    replicasNode.fail(
      `${replicas} replicas would open the same volumes at once: set allowConcurrentWriters: true if the app ` +
        "is safe that way, or run one replica",
    );
  }
  return replicas;
}

type ParsedApp = Omit<AppConfig, "loadBalancer"> & { readonly draft?: LoadBalancerDraft };

function parseApp(n: ConfigNode, pins: Record<string, string>, rollout: RolloutConfig): ParsedApp {
  const name = n
    .field("name")
    .matching(APP_NAME, "a lowercase name of at most 31 characters starting with a letter");
  const port = n.field("port").integer(1, 65535);
  const hostPortNode = n.field("hostPort");
  const domains = parseDomains(n.field("domains"));
  const draft = parseLoadBalancer(n.field("loadBalancer"));
  // A load balancer needs a port on its targets; any other app is served only where the config says so.
  const hostPort = hostPortNode.present || draft ? hostPortNode.integer(1, 65535, port) : undefined;
  if (hostPort === SSH_PORT) hostPortNode.fail(`${SSH_PORT} is reserved for SSH`);
  // Behind a load balancer TLS ends there and the hosts serve plain HTTP on hostPort.
  if (!draft) checkHostPortWithDomains(n, domains);
  const publicNode = n.field("public");
  const isPublic = publicNode.boolean(true);
  if (!isPublic && hostPort === undefined) {
    publicNode.fail(
      "closes the app's hostPort to the internet, and the app has none; public: false is for an app other " +
        "apps reach as <name>.internal:<hostPort>",
    );
  }
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
  const volumes = parseVolumes(n.field("volumes"));
  const sized = volumes.findIndex((v) => v.size !== undefined);
  if (sized >= 0 && hosts.length > 1) {
    n.field("volumes")
      .items()
      [sized].field("size")
      .fail(
        `a Hetzner Volume attaches to one server, and app "${name}" runs on ${hosts.length} hosts: put it on ` +
          "one host, or leave size out for a directory on each host (each with its own data)",
      );
  }
  const app: ParsedApp = {
    name,
    hosts,
    source: parseSource(n, pins[name]),
    delivery: n.field("delivery").oneOf(DELIVERY_MODES, DEFAULTS.delivery),
    port,
    hostPort,
    public: isPublic,
    domains,
    rollout: parseRollout(n.field("rollout"), rollout),
    strategy: parseStrategy(n, volumes),
    replicas: parseReplicas(n, volumes),
    volumes,
    env,
    secretEnv,
    memory: n.field("memory").matching(MEMORY, 'a Docker memory size such as "256m"', DEFAULTS.memory),
    cpus: n.field("cpus").number(0.01, 256, DEFAULTS.cpus),
    restart: n.field("restart").oneOf(RESTART_POLICIES, DEFAULTS.restart),
    health: parseHealth(n.field("health")),
    ...(n.field("release").present ? { release: parseRelease(n.field("release")) } : {}),
    after: n.field("after").strings([]),
    jobs: parseJobs(n.field("jobs")),
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
  // Only apps listed before: no cycle can form, and the program creates them first.
  drafts.forEach((app, i) => {
    const afterNode = nodes[i].field("after");
    const earlier = new Set(drafts.slice(0, i).map((a) => a.name));
    for (const other of app.after) {
      if (!earlier.has(other))
        afterNode.fail(`"${other}" is not an app listed before "${app.name}" in ${configKey("apps")}`);
    }
    requireUnique(
      app.after,
      app.after.map(() => afterNode),
      (a) => a,
      "app",
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
