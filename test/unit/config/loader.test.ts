import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { parseConfig } from "../../../config/loader";
import { ConfigError, RawConfig } from "../../../config/reader";
import { PlainSecrets } from "../../../config/secrets";
import { CONFIG_KEYS } from "../../../config/schema";
import { DEFAULTS } from "../../../config/types";
import { DEFAULT_SERVER_TYPES } from "../../../components/hetznerHost";
import { generateEd25519KeyPair } from "../../../components/sshKeys";
import { deployerKey, loadConfigWith, ROOT, stackConfig } from "../support/program";

const digestRef = (name: string) => `ghcr.io/example-org/${name}@sha256:${"a".repeat(64)}`;

function validRaw(): Record<string, any> {
  return {
    sshPublicKey: deployerKey.sshPublicKey,
    sshAllowedCidrs: ["2001:db8::/32", "203.0.113.0/24"],
    registry: { namespace: "example-org", username: "bot" },
    hosts: [
      { name: "web-1", location: "fsn1" },
      { name: "web-2", location: "nbg1", dns64Servers: ["2a00:1098:2c::1"] },
    ],
    apps: [
      { name: "web", hosts: ["web-1", "web-2"], build: { context: "apps/web" }, port: 8080, hostPort: 80 },
      {
        name: "api",
        hosts: ["web-2"],
        image: digestRef("api"),
        port: 3000,
        secretEnv: ["DB"],
        delivery: "registry",
      },
    ],
  };
}

const validSecrets: PlainSecrets = {
  sshPrivateKey: deployerKey.sshPrivateKey,
  registryPushToken: "push",
  registryPullToken: "pull",
  appSecrets: { api: { DB: "postgres://x" } },
  hcloudToken: "t".repeat(64),
};

function errorOf(raw: RawConfig, secrets: PlainSecrets = validSecrets): string {
  try {
    parseConfig("dev", raw, secrets);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("config was accepted");
}

describe("parseConfig accepts a valid config and applies defaults", () => {
  test("defaults", () => {
    const config = parseConfig("dev", validRaw(), validSecrets);
    expect(config.hosts[0]).toEqual({
      name: "web-1",
      location: "fsn1",
      serverType: undefined,
      image: undefined,
      generation: 1,
      dns64Servers: [],
    });
    expect(config.apps[0]).toEqual({
      name: "web",
      hosts: ["web-1", "web-2"],
      source: { kind: "build", context: "apps/web", dockerfile: "Dockerfile" },
      delivery: "tarball",
      port: 8080,
      hostPort: 80,
      public: true,
      domains: [],
      rollout: { hostsAtOnce: 1, drainSeconds: 30 },
      strategy: "overlap",
      volumes: [],
      env: {},
      secretEnv: [],
      memory: "256m",
      cpus: 1,
      restart: "unless-stopped",
      health: { path: "/", timeoutSeconds: 60, intervalSeconds: 2 },
      after: [],
      jobs: [],
      replicas: 1,
    });
    expect("loadBalancer" in config.apps[0]).toBe(false);
    expect(config.apps[1].source).toEqual({ kind: "prebuilt", ref: digestRef("api") });
    // Neither hostPort nor domains: no route (a load balancer would default it to the port).
    expect(config.apps[1].hostPort).toBeUndefined();
    expect(config.registry).toEqual({
      server: "ghcr.io",
      namespace: "example-org",
      username: "bot",
      ipv6: false,
      insecure: false,
    });
    expect(config.hostReplacement).toBe("on-generation");
    expect(config.readinessTimeoutSeconds).toBe(600);
    expect(config.deliveryParallelism).toBe(8);
    expect(config.rollout).toEqual({ hostsAtOnce: 1, drainSeconds: 30 });
    expect(config.tls).toEqual({ issuer: "acme" });
    expect(config.keepImages).toBe(3);
    expect(config.privateNetwork).toBe("10.100.0.0/16");
  });

  test("delivery parallelism is read as a number, from a string as the CLI stores it", () => {
    expect(
      parseConfig("dev", { ...validRaw(), deliveryParallelism: "3" }, validSecrets).deliveryParallelism,
    ).toBe(3);
  });

  test("rollout: the stack's settings are every app's defaults; an app may override each", () => {
    const raw = validRaw();
    raw.rollout = { hostsAtOnce: "2", drainSeconds: 10 };
    raw.apps[1].rollout = { drainSeconds: 0 };
    const config = parseConfig("dev", raw, validSecrets);
    expect(config.rollout).toEqual({ hostsAtOnce: 2, drainSeconds: 10 });
    expect(config.apps.map((a) => a.rollout)).toEqual([
      { hostsAtOnce: 2, drainSeconds: 10 },
      { hostsAtOnce: 2, drainSeconds: 0 },
    ]);
  });

  test("domains: HTTPS on 80 and 443, shared by the apps with domains on a host", () => {
    const raw = validRaw();
    raw.apps[0] = { ...raw.apps[0], hostPort: undefined, domains: ["www.example.com", "example.com"] };
    raw.apps[1].domains = ["api.example.com"];
    raw.tls = { issuer: "internal", email: "ops@example.com" };
    const config = parseConfig("dev", raw, validSecrets);
    expect(config.apps.map((a) => a.domains)).toEqual([
      ["www.example.com", "example.com"],
      ["api.example.com"],
    ]);
    expect(config.tls).toEqual({ issuer: "internal", email: "ops@example.com" });
  });

  test.each<[string, Record<string, unknown>, object]>([
    [
      "http by default, without a type key",
      { path: "/ready" },
      { path: "/ready", timeoutSeconds: 60, intervalSeconds: 2 },
    ],
    [
      "tcp: the app port accepts",
      { type: "tcp", timeoutSeconds: 30 },
      { type: "tcp", timeoutSeconds: 30, intervalSeconds: 2 },
    ],
    [
      "command: run inside the container",
      { type: "command", command: ["pg_isready", "-U", "app"], intervalSeconds: 5 },
      { type: "command", command: ["pg_isready", "-U", "app"], timeoutSeconds: 60, intervalSeconds: 5 },
    ],
  ])("health check %s", (_, health, expected) => {
    const raw = validRaw();
    (raw.apps as Record<string, unknown>[])[0].health = health;
    expect(parseConfig("dev", raw, validSecrets).apps[0].health).toEqual(expected);
  });

  test("after: the apps named, listed before; default none", () => {
    const raw = validRaw();
    raw.apps[1].after = ["web"];
    expect(parseConfig("dev", raw, validSecrets).apps.map((a) => a.after)).toEqual([[], ["web"]]);
  });

  test("jobs: name, schedule as written and as a systemd calendar, command, timeout's default", () => {
    const raw = validRaw();
    raw.apps[1].jobs = [
      { name: "cleanup", schedule: "*/15 * * * *", command: ["./cleanup"] },
      { name: "report", schedule: "@daily", command: ["./report", "--mail"], timeoutSeconds: 60 },
    ];
    expect(parseConfig("dev", raw, validSecrets).apps[1].jobs).toEqual([
      {
        name: "cleanup",
        schedule: "*/15 * * * *",
        calendar: "*-*-* *:00,15,30,45:00",
        command: ["./cleanup"],
        timeoutSeconds: 3600,
      },
      {
        name: "report",
        schedule: "@daily",
        calendar: "*-*-* 00:00:00",
        command: ["./report", "--mail"],
        timeoutSeconds: 60,
      },
    ]);
  });

  test("release: the command, and its timeout's default", () => {
    const raw = validRaw();
    (raw.apps as Record<string, unknown>[])[0].release = { command: ["./migrate", "up"] };
    expect(parseConfig("dev", raw, validSecrets).apps[0].release).toEqual({
      command: ["./migrate", "up"],
      timeoutSeconds: 300,
    });
    expect(parseConfig("dev", validRaw(), validSecrets).apps[0]).not.toHaveProperty("release");
  });

  test.each<[string, Record<string, unknown>, object]>([
    ["no volumes: overlap, no volumes", {}, { strategy: "overlap", volumes: [] }],
    [
      "volumes: recreate by default",
      { volumes: [{ name: "data", path: "/var/lib/app" }] },
      { strategy: "recreate", volumes: [{ name: "data", path: "/var/lib/app" }] },
    ],
    [
      "overlap on volumes the app says it can share",
      { volumes: [{ name: "cache", path: "/cache" }], strategy: "overlap", allowConcurrentWriters: true },
      { strategy: "overlap", volumes: [{ name: "cache", path: "/cache" }] },
    ],
    ["recreate without volumes", { strategy: "recreate" }, { strategy: "recreate", volumes: [] }],
  ])("volumes and strategy: %s", (_, fields, expected) => {
    const raw = validRaw();
    Object.assign((raw.apps as Record<string, unknown>[])[0], fields);
    const app = parseConfig("dev", raw, validSecrets).apps[0];
    expect({ strategy: app.strategy, volumes: app.volumes }).toEqual(expected);
  });

  test.each<[string, Record<string, unknown>, object]>([
    ["one by default", {}, { replicas: 1, strategy: "overlap" }],
    ["three without volumes", { replicas: 3 }, { replicas: 3, strategy: "overlap" }],
    [
      "two on volumes the app says it can share",
      { replicas: 2, volumes: [{ name: "cache", path: "/cache" }], allowConcurrentWriters: true },
      { replicas: 2, strategy: "recreate" },
    ],
  ])("replicas: %s", (_, fields, expected) => {
    const raw = validRaw();
    Object.assign((raw.apps as Record<string, unknown>[])[0], fields);
    const app = parseConfig("dev", raw, validSecrets).apps[0];
    expect({ replicas: app.replicas, strategy: app.strategy }).toEqual(expected);
  });

  test("an image pin overrides the build", () => {
    const config = parseConfig("dev", { ...validRaw(), imagePins: { web: digestRef("web") } }, validSecrets);
    expect(config.apps[0].source).toEqual({ kind: "prebuilt", ref: digestRef("web") });
  });

  test("stack files written by `pulumi config set` hold numbers as strings", () => {
    const raw = validRaw();
    raw.apps[0].port = "8080";
    raw.hosts[0].generation = "3";
    raw.keepImages = "5";
    const config = parseConfig("dev", raw, validSecrets);
    expect(config.apps[0].port).toBe(8080);
    expect(config.hosts[0].generation).toBe(3);
    expect(config.keepImages).toBe(5);
  });
});

type Mutation = (raw: Record<string, any>, secrets: Record<string, any>) => void;
const otherKey = generateEd25519KeyPair("other");

const invalid: [string, Mutation, string][] = [
  [
    "malformed CIDR",
    (r) => (r.sshAllowedCidrs = ["2001:db8::/129"]),
    "hcloud-deploy:sshAllowedCidrs[0]: prefix /129",
  ],
  [
    "CIDR without prefix",
    (r) => (r.sshAllowedCidrs = ["2001:db8::1"]),
    'hcloud-deploy:sshAllowedCidrs[0]: "2001:db8::1" is not a CIDR',
  ],
  [
    "CIDR with host bits",
    (r) => (r.sshAllowedCidrs = ["2001:db8::1/32"]),
    'hcloud-deploy:sshAllowedCidrs[0]: "2001:db8::1/32" has host bits set',
  ],
  [
    "no SSH CIDR at all",
    (r) => (r.sshAllowedCidrs = []),
    "hcloud-deploy:sshAllowedCidrs: must allow at least one CIDR",
  ],
  [
    "duplicate host name",
    (r) => r.hosts.push({ name: "web-1", location: "hel1" }),
    'hcloud-deploy:hosts[2]: duplicate host name "web-1"',
  ],
  [
    "duplicate app name",
    (r) => r.apps.push({ ...r.apps[0] }),
    'hcloud-deploy:apps[2]: duplicate app name "web"',
  ],
  [
    "port out of range",
    (r) => (r.apps[0].port = 70000),
    "hcloud-deploy:apps[0].port: 70000 is out of range (1-65535)",
  ],
  ["port zero", (r) => (r.apps[0].port = 0), "hcloud-deploy:apps[0].port: 0 is out of range (1-65535)"],
  [
    "host port 22 is SSH's",
    (r) => (r.apps[0].hostPort = 22),
    "hcloud-deploy:apps[0].hostPort: 22 is reserved for SSH",
  ],
  [
    "two apps on one host port",
    (r) => (r.apps[1].hostPort = 80),
    'hcloud-deploy:apps[1].hostPort: port 80 on host "web-2" is already used by app "web"',
  ],
  [
    "unknown delivery mode",
    (r) => (r.apps[0].delivery = "rsync"),
    'hcloud-deploy:apps[0].delivery: "rsync" is not one of "tarball", "registry"',
  ],
  [
    "public key that does not parse",
    (r) => (r.sshPublicKey = "ssh-ed25519 not-base64!"),
    "hcloud-deploy:sshPublicKey: does not parse as an SSH public key: key data is not base64",
  ],
  [
    "public key of the wrong type",
    (r) => (r.sshPublicKey = "ssh-dss AAAAB3NzaC1kc3M="),
    'hcloud-deploy:sshPublicKey: does not parse as an SSH public key: unsupported key type "ssh-dss"',
  ],
  [
    "missing SSH private key",
    (_r, s) => delete s.sshPrivateKey,
    "hcloud-deploy:sshPrivateKey: is required to reach the hosts",
  ],
  [
    "private key that is not one",
    (_r, s) => (s.sshPrivateKey = "hunter2"),
    "hcloud-deploy:sshPrivateKey: expected an OpenSSH private key",
  ],
  [
    "private key of another pair",
    (_r, s) => (s.sshPrivateKey = otherKey.privateKey),
    "hcloud-deploy:sshPrivateKey: does not match hcloud-deploy:sshPublicKey",
  ],
  [
    "missing push token while building",
    (_r, s) => (s.registryPushToken = ""),
    "hcloud-deploy:registryPushToken: is required to push the images this stack builds",
  ],
  [
    "missing pull token for registry delivery",
    (_r, s) => delete s.registryPullToken,
    'hcloud-deploy:registryPullToken: is required for apps with "registry" delivery',
  ],
  [
    "missing secret env value",
    (_r, s) => (s.appSecrets = { api: {} }),
    'hcloud-deploy:appSecrets.api.DB: is required by app "api"',
  ],
  ["missing Hetzner token", (_r, s) => delete s.hcloudToken, "hcloud:token: is required"],
  [
    "app on an undefined host",
    (r) => r.apps[0].hosts.push("db-1"),
    'hcloud-deploy:apps[0].hosts: host "db-1" is not defined in hcloud-deploy:hosts',
  ],
  [
    "unknown location",
    (r) => (r.hosts[0].location = "fra1"),
    'hcloud-deploy:hosts[0].location: "fra1" is not one of "fsn1"',
  ],
  [
    "host name that is not a hostname",
    (r) => (r.hosts[0].name = "Web_1"),
    'hcloud-deploy:hosts[0].name: "Web_1" is not a lowercase hostname label',
  ],
  ["no hosts", (r) => (r.hosts = []), "hcloud-deploy:hosts: must list at least one host"],
  ["hosts missing", (r) => delete r.hosts, "hcloud-deploy:hosts: is required"],
  [
    "both build and image",
    (r) => (r.apps[0].image = digestRef("web")),
    'hcloud-deploy:apps[0]: set either "build" or "image", not both',
  ],
  ["neither build nor image", (r) => delete r.apps[0].build, 'hcloud-deploy:apps[0]: needs "build"'],
  [
    "image not pinned by digest",
    (r) => (r.apps[1].image = "ghcr.io/example-org/api:latest"),
    'hcloud-deploy:apps[1].image: "ghcr.io/example-org/api:latest" is not a digest-pinned reference',
  ],
  [
    "registry pull on an IPv6-only host",
    (r) => (r.apps[1].hosts = ["web-1"]),
    'hcloud-deploy:apps[1].delivery: app "api" uses "registry" delivery, but host "web-1" is IPv6-only and ghcr.io has no IPv6 address',
  ],
  [
    "typo in a field name",
    (r) => (r.apps[0].hostport = 81),
    'hcloud-deploy:apps[0]: unknown field "hostport"',
  ],
  [
    "env var name with a dash",
    (r) => (r.apps[0].env = { "API-URL": "x" }),
    'hcloud-deploy:apps[0].env: "API-URL" is not a valid environment variable name',
  ],
  [
    "secret env also set in env",
    (r) => (r.apps[1].env = { DB: "x" }),
    'hcloud-deploy:apps[1].secretEnv: "DB" is also set in env',
  ],
  [
    "bad memory size",
    (r) => (r.apps[0].memory = "lots"),
    'hcloud-deploy:apps[0].memory: "lots" is not a Docker memory size',
  ],
  [
    "health path without slash",
    (r) => (r.apps[0].health = { path: "healthz" }),
    'hcloud-deploy:apps[0].health.path: "healthz" is not an absolute URL path',
  ],
  [
    "unknown health check type",
    (r) => (r.apps[0].health = { type: "grpc" }),
    'hcloud-deploy:apps[0].health.type: "grpc" is not one of "http", "tcp", "command"',
  ],
  [
    "command check without a command",
    (r) => (r.apps[0].health = { type: "command", command: [] }),
    'hcloud-deploy:apps[0].health.command: must name a program, e.g. ["pg_isready", "-U", "postgres"]',
  ],
  [
    "a path on a tcp check",
    (r) => (r.apps[0].health = { type: "tcp", path: "/" }),
    'hcloud-deploy:apps[0].health: unknown field "path"',
  ],
  [
    "an empty release command",
    (r) => (r.apps[0].release = { command: [] }),
    'hcloud-deploy:apps[0].release.command: must name a program, e.g. ["./migrate", "up"]',
  ],
  [
    "after: an app listed later (its rollouts could not come first)",
    (r) => (r.apps[0].after = ["api"]),
    'hcloud-deploy:apps[0].after: "api" is not an app listed before "web" in hcloud-deploy:apps',
  ],
  [
    "after: an app that does not exist",
    (r) => (r.apps[1].after = ["db"]),
    'hcloud-deploy:apps[1].after: "db" is not an app listed before "api" in hcloud-deploy:apps',
  ],
  [
    "after: itself",
    (r) => (r.apps[1].after = ["api"]),
    'hcloud-deploy:apps[1].after: "api" is not an app listed before "api" in hcloud-deploy:apps',
  ],
  ["after: not a list of names", (r) => (r.apps[1].after = "web"), "hcloud-deploy:apps[1].after:"],
  [
    "a job schedule that does not parse",
    (r) => (r.apps[0].jobs = [{ name: "cleanup", schedule: "every night", command: ["./cleanup"] }]),
    'hcloud-deploy:apps[0].jobs[0].schedule: "every night" is not a cron schedule: five fields',
  ],
  [
    "a job schedule out of range",
    (r) => (r.apps[0].jobs = [{ name: "cleanup", schedule: "0 25 * * *", command: ["./cleanup"] }]),
    'hcloud-deploy:apps[0].jobs[0].schedule: hour "25" is outside 0-23',
  ],
  [
    "two jobs with one name",
    (r) =>
      (r.apps[0].jobs = [
        { name: "cleanup", schedule: "@daily", command: ["./cleanup"] },
        { name: "cleanup", schedule: "@hourly", command: ["./cleanup", "--quick"] },
      ]),
    'hcloud-deploy:apps[0].jobs[1]: duplicate job name "cleanup"',
  ],
  [
    "a job without a command",
    (r) => (r.apps[0].jobs = [{ name: "cleanup", schedule: "@daily", command: [] }]),
    "hcloud-deploy:apps[0].jobs[0].command: must name a program",
  ],
  [
    "a job name with a dot",
    (r) => (r.apps[0].jobs = [{ name: "clean.up", schedule: "@daily", command: ["./cleanup"] }]),
    "hcloud-deploy:apps[0].jobs[0].name:",
  ],
  [
    "a job key misspelled",
    (r) => (r.apps[0].jobs = [{ name: "cleanup", schedule: "@daily", command: ["./c"], timeout: 5 }]),
    'hcloud-deploy:apps[0].jobs[0]: unknown field "timeout"',
  ],
  [
    "a release timeout of 0",
    (r) => (r.apps[0].release = { command: ["./migrate"], timeoutSeconds: 0 }),
    "hcloud-deploy:apps[0].release.timeoutSeconds: 0 is out of range (1-86400)",
  ],
  [
    "two volumes on one path",
    (r) =>
      (r.apps[0].volumes = [
        { name: "a", path: "/data" },
        { name: "b", path: "/data" },
      ]),
    'hcloud-deploy:apps[0].volumes[1]: duplicate volume path "/data"',
  ],
  [
    "two volumes of one name",
    (r) =>
      (r.apps[0].volumes = [
        { name: "data", path: "/a" },
        { name: "data", path: "/b" },
      ]),
    'hcloud-deploy:apps[0].volumes[1]: duplicate volume name "data"',
  ],
  [
    "a volume path that is not absolute",
    (r) => (r.apps[0].volumes = [{ name: "data", path: "data" }]),
    'hcloud-deploy:apps[0].volumes[0].path: "data" is not an absolute path inside the container, such as /var/lib/app',
  ],
  [
    "a volume path with ..",
    (r) => (r.apps[0].volumes = [{ name: "data", path: "/srv/../etc" }]),
    "hcloud-deploy:apps[0].volumes[0].path: must not contain . or .. segments",
  ],
  [
    "a volume path of / ",
    (r) => (r.apps[0].volumes = [{ name: "data", path: "/" }]),
    'hcloud-deploy:apps[0].volumes[0].path: "/" is not an absolute path inside the container, such as /var/lib/app',
  ],
  [
    "a volume name with capitals",
    (r) => (r.apps[0].volumes = [{ name: "Data", path: "/data" }]),
    'hcloud-deploy:apps[0].volumes[0].name: "Data" is not a lowercase name of at most 31 characters starting with a letter',
  ],
  [
    "a volume smaller than Hetzner's minimum",
    (r) => (r.apps[0].volumes = [{ name: "data", path: "/data", size: 9 }]),
    "hcloud-deploy:apps[0].volumes[0].size: 9 is out of range (10-10240)",
  ],
  [
    "a volume larger than Hetzner's maximum",
    (r) => (r.apps[0].volumes = [{ name: "data", path: "/data", size: 10241 }]),
    "hcloud-deploy:apps[0].volumes[0].size: 10241 is out of range (10-10240)",
  ],
  [
    "a Hetzner Volume on an app with several hosts",
    (r) => {
      r.apps[0].hosts = ["web-1", "web-2"];
      r.apps[0].volumes = [{ name: "data", path: "/data", size: 10 }];
    },
    'hcloud-deploy:apps[0].volumes[0].size: a Hetzner Volume attaches to one server, and app "web" runs on 2 ' +
      "hosts: put it on one host, or leave size out for a directory on each host (each with its own data)",
  ],
  [
    "deleteData that is not a boolean",
    (r) => (r.deleteData = "yes"),
    'hcloud-deploy:deleteData: must be true or false, got string "yes"',
  ],
  [
    "overlap on volumes without allowConcurrentWriters",
    (r) => {
      r.apps[0].volumes = [{ name: "data", path: "/data" }];
      r.apps[0].strategy = "overlap";
    },
    'hcloud-deploy:apps[0].strategy: "overlap" runs the old and the new version on the same volumes during a ' +
      "rollout: leave strategy out (recreate), or set allowConcurrentWriters: true if the app is safe that way",
  ],
  [
    "replicas below 1",
    (r) => (r.apps[0].replicas = 0),
    "hcloud-deploy:apps[0].replicas: 0 is out of range (1-100)",
  ],
  [
    "replicas that are not a number",
    (r) => (r.apps[0].replicas = "three"),
    'hcloud-deploy:apps[0].replicas: must be an integer, got string "three"',
  ],
  [
    "replicas on volumes without allowConcurrentWriters",
    (r) => {
      r.apps[0].volumes = [{ name: "data", path: "/data" }];
      r.apps[0].replicas = 2;
    },
    "hcloud-deploy:apps[0].replicas: 2 replicas would open the same volumes at once: set " +
      "allowConcurrentWriters: true if the app is safe that way, or run one replica",
  ],
  [
    "allowConcurrentWriters without volumes",
    (r) => (r.apps[0].allowConcurrentWriters = true),
    "hcloud-deploy:apps[0].allowConcurrentWriters: only applies to an app with volumes",
  ],
  [
    "an unknown strategy",
    (r) => (r.apps[0].strategy = "blue-green"),
    'hcloud-deploy:apps[0].strategy: "blue-green" is not one of "overlap", "recreate"',
  ],
  [
    "pin for an unknown app",
    (r) => (r.imagePins = { db: digestRef("db") }),
    'hcloud-deploy:imagePins.db: app "db" is not defined',
  ],
  [
    "unknown host replacement policy",
    (r) => (r.hostReplacement = "never"),
    'hcloud-deploy:hostReplacement: "never" is not one of "on-change", "on-generation"',
  ],
  [
    "DNS64 server that is not IPv6",
    (r) => (r.hosts[1].dns64Servers = ["8.8.8.8"]),
    'hcloud-deploy:hosts[1].dns64Servers[0]: "8.8.8.8" is not an IPv6 address',
  ],
  [
    "registry without namespace",
    (r) => delete r.registry.namespace,
    "hcloud-deploy:registry.namespace: is required",
  ],
  ["keep no image at all", (r) => (r.keepImages = 0), "hcloud-deploy:keepImages: 0 is out of range (1-100)"],
  [
    "keepImages that is not a number",
    (r) => (r.keepImages = "many"),
    'hcloud-deploy:keepImages: must be an integer, got string "many"',
  ],
  [
    "rollout of zero hosts at once",
    (r) => (r.rollout = { hostsAtOnce: 0 }),
    "hcloud-deploy:rollout.hostsAtOnce: 0 is out of range (1-100)",
  ],
  [
    "app rollout with a negative drain",
    (r) => (r.apps[0].rollout = { drainSeconds: -1 }),
    "hcloud-deploy:apps[0].rollout.drainSeconds: -1 is out of range (0-3600)",
  ],
  [
    "typo in the rollout block",
    (r) => (r.rollout = { hostsAtOnes: 2 }),
    'hcloud-deploy:rollout: unknown field "hostsAtOnes"',
  ],
  [
    "a domain that is not a DNS name",
    (r) => (r.apps[1].domains = ["Shop_Example"]),
    'hcloud-deploy:apps[1].domains[0]: "Shop_Example" is not a lowercase DNS name',
  ],
  [
    "hostPort next to domains",
    (r) => (r.apps[0].domains = ["www.example.com"]),
    "hcloud-deploy:apps[0].hostPort: is not used with domains: the proxy serves them on 443 and redirects 80",
  ],
  [
    "one domain for two apps",
    (r) => {
      r.apps[1].domains = ["shop.example.com"];
      r.apps.push({
        name: "shop",
        hosts: ["web-1"],
        image: digestRef("shop"),
        port: 80,
        domains: ["shop.example.com"],
      });
    },
    'hcloud-deploy:apps[2].domains[0]: "shop.example.com" is already served by app "api"',
  ],
  [
    "a plain app on port 443 where an app has domains",
    (r) => {
      r.apps[1].domains = ["api.example.com"];
      r.apps[0].hostPort = 443;
    },
    'hcloud-deploy:apps[1].domains: port 443 on host "web-2" is already used by app "web"',
  ],
  [
    "unknown TLS issuer",
    (r) => (r.tls = { issuer: "letsencrypt" }),
    'hcloud-deploy:tls.issuer: "letsencrypt" is not one of "acme", "internal"',
  ],
  [
    "ACME e-mail that is not one",
    (r) => (r.tls = { email: "ops" }),
    'hcloud-deploy:tls.email: "ops" is not an e-mail address',
  ],
  [
    "delivery parallelism zero",
    (r) => (r.deliveryParallelism = "0"),
    "hcloud-deploy:deliveryParallelism: 0 is out of range",
  ],
  [
    "delivery parallelism not a number",
    (r) => (r.deliveryParallelism = "many"),
    'hcloud-deploy:deliveryParallelism: must be an integer, got string "many"',
  ],
  [
    "generation zero",
    (r) => (r.hosts[0].generation = 0),
    "hcloud-deploy:hosts[0].generation: 0 is out of range",
  ],
];

describe("parseConfig rejects invalid config with one line naming the key", () => {
  test.each(invalid)("%s", (_name, mutate, expected) => {
    const raw = validRaw();
    const secrets: Record<string, any> = { ...validSecrets };
    mutate(raw, secrets);
    const message = errorOf(raw, secrets);
    expect(message).toContain(expected);
    expect(message.startsWith(expected.split(":").slice(0, 2).join(":"))).toBe(true);
    expect(message).not.toContain("\n");
  });

  test("the table has at least 15 distinct cases", () => {
    expect(new Set(invalid.map(([name]) => name)).size).toBe(invalid.length);
    expect(invalid.length).toBeGreaterThanOrEqual(15);
  });
});

describe("loadConfig under the Pulumi runtime", () => {
  test("a bad stack config fails with the one-line message", async () => {
    await expect(
      loadConfigWith(stackConfig("dev", { "hcloud-deploy:sshAllowedCidrs": ["10.0.0.1/8"] })),
    ).rejects.toThrow(
      /^hcloud-deploy:sshAllowedCidrs\[0\]: "10\.0\.0\.1\/8" has host bits set; use its network address$/,
    );
  });

  test("secrets come back as secret Outputs", async () => {
    const config = await loadConfigWith(stackConfig("dev"));
    expect(await pulumi.isSecret(config.secrets.sshPrivateKey)).toBe(true);
    expect(await pulumi.isSecret(config.secrets.registryPushToken as pulumi.Output<string>)).toBe(true);
    expect(await pulumi.isSecret(config.secrets.appSecrets)).toBe(true);
    expect(config.hosts.map((h) => h.name)).toEqual(["web-1", "web-2"]);
  });

  test("a value that is not structured where a list is expected names the key", async () => {
    await expect(loadConfigWith(stackConfig("dev", { "hcloud-deploy:hosts": "web-1" }))).rejects.toThrow(
      /^hcloud-deploy:hosts: is not a valid YAML\/JSON value$/,
    );
  });
});

describe("Pulumi.yaml declares the config the loader reads", () => {
  const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
  const declared = project.config as Record<string, { type: string; default?: unknown; description: string }>;

  test("declares exactly the keys of CONFIG_KEYS", () => {
    expect(Object.keys(declared).sort()).toEqual([...CONFIG_KEYS].sort());
  });

  test("every key has a type and a description", () => {
    for (const [key, decl] of Object.entries(declared)) {
      expect([key, typeof decl.type]).toEqual([key, "string"]);
      expect(decl.description.length).toBeGreaterThan(20);
    }
  });

  test("top-level defaults agree with the loader's", () => {
    expect(declared.rollout.default).toEqual({});
    expect(declared.tls.default).toEqual({});
    expect(declared.rollout.description).toContain(`hostsAtOnce (default ${DEFAULTS.rollout.hostsAtOnce}`);
    expect(declared.rollout.description).toContain(`drainSeconds (default ${DEFAULTS.rollout.drainSeconds}:`);
    expect(declared.tls.description).toContain(`issuer (default ${DEFAULTS.tls.issuer}:`);
    expect(declared.hostReplacement.default).toBe(DEFAULTS.hostReplacement);
    expect(declared.readinessTimeoutSeconds.default).toBe(DEFAULTS.readinessTimeoutSeconds);
    expect(declared.deliveryParallelism.default).toBe(DEFAULTS.deliveryParallelism);
    expect(declared.keepImages.default).toBe(DEFAULTS.keepImages);
    expect(declared.apps.default).toEqual([]);
    expect(declared.imagePins.default).toEqual({});
  });

  test("field defaults documented in descriptions agree with the loader's", () => {
    expect(declared.hosts.description).toContain(
      `cx23 in fsn1, nbg1 and hel1, cpx11 in ash and hil, cpx12 in sin), image (default: likewise; ${DEFAULTS.image} for a new server)`,
    );
    expect(Object.entries(DEFAULT_SERVER_TYPES)).toEqual([
      ["fsn1", "cx23"],
      ["nbg1", "cx23"],
      ["hel1", "cx23"],
      ["ash", "cpx11"],
      ["hil", "cpx11"],
      ["sin", "cpx12"],
    ]);
    expect(declared.apps.description).toContain(`memory (default ${DEFAULTS.memory})`);
    expect(declared.apps.description).toContain(`timeoutSeconds (default ${DEFAULTS.healthTimeoutSeconds})`);
    expect(declared.registry.description).toContain(`server (default ${DEFAULTS.registry.server})`);
    expect(declared.apps.description).toContain(`type (default ${DEFAULTS.loadBalancerType})`);
    expect(declared.apps.description).toContain(`network (private IPv4 range`);
    expect(declared.apps.description).toContain(`default ${DEFAULTS.loadBalancerNetwork})`);
  });

  test("every key in the stack files is declared", () => {
    for (const stack of ["dev", "prod", "local"]) {
      const file = parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"));
      for (const key of Object.keys(file.config)) {
        const [ns, name] = key.split(":");
        if (ns === "hcloud-deploy") expect([stack, key, name in declared]).toEqual([stack, key, true]);
      }
    }
  });
});
