import { internalHostsOf, privateNetworkZones } from "../../../config/internalNames";
import { parseConfig } from "../../../config/loader";
import { ConfigError } from "../../../config/reader";
import { PlainSecrets } from "../../../config/secrets";
import { zoneSubnets } from "../../../components/privateNetwork";
import { deployerKey } from "../support/program";

const secrets: PlainSecrets = {
  sshPrivateKey: deployerKey.sshPrivateKey,
  registryPushToken: "push",
  appSecrets: {},
  hcloudToken: "t".repeat(64),
};

/** web on a and b calls api on b; c is in another network zone. */
function raw(): Record<string, any> {
  return {
    sshPublicKey: deployerKey.sshPublicKey,
    sshAllowedCidrs: ["2001:db8::/32"],
    registry: { namespace: "example-org", username: "bot" },
    hosts: [
      { name: "a", location: "fsn1" },
      { name: "b", location: "nbg1" },
      { name: "c", location: "ash" },
    ],
    apps: [
      {
        name: "web",
        hosts: ["a", "b"],
        build: { context: "apps/web" },
        port: 8080,
        hostPort: 80,
        env: { API_URL: "http://api.internal:8080/v1" },
      },
      {
        name: "api",
        hosts: ["b"],
        build: { context: "apps/api" },
        port: 8080,
        hostPort: 8080,
        public: false,
      },
      { name: "db", hosts: ["b"], build: { context: "apps/db" }, port: 5432 },
    ],
  };
}

function errorOf(mutate: (r: Record<string, any>) => void): string {
  const r = raw();
  mutate(r);
  try {
    parseConfig("dev", r, secrets);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("config was accepted");
}

describe("<app>.internal in env, public and privateNetwork: bad input gets one line naming the key", () => {
  test.each<[string, (r: Record<string, any>) => void, string]>([
    [
      "a name of no app",
      (r) => (r.apps[0].env.API_URL = "http://apy.internal:8080"),
      'hcloud-deploy:apps[0].env.API_URL: "apy.internal:8080" names no app of the stack',
    ],
    [
      "an app without a hostPort",
      (r) => (r.apps[0].env.DB = "postgres://db.internal/app"),
      'hcloud-deploy:apps[0].env.DB: "db.internal": app "db" has no hostPort',
    ],
    [
      "a port that is not the app's hostPort",
      (r) => (r.apps[0].env.API_URL = "http://api.internal:3000"),
      'hcloud-deploy:apps[0].env.API_URL: "api.internal:3000": app "api" is reached on its hostPort, 8080',
    ],
    [
      "an app with no host in the caller's network zone",
      (r) => (r.apps[0].hosts = ["a", "c"]),
      'hcloud-deploy:apps[0].env.API_URL: "api.internal:8080": app "api" runs on no host in network zone us-east',
    ],
    [
      "public: false without a hostPort",
      (r) => (r.apps[2].public = false),
      "hcloud-deploy:apps[2].public: closes the app's hostPort to the internet, and the app has none",
    ],
    [
      "public not a boolean",
      (r) => (r.apps[1].public = "no"),
      'hcloud-deploy:apps[1].public: must be true or false, got string "no"',
    ],
    [
      "a private network that is not private",
      (r) => (r.privateNetwork = "100.64.0.0/16"),
      'hcloud-deploy:privateNetwork: "100.64.0.0/16" is not a private IPv4 range',
    ],
    [
      "a private network too small for a /24 per zone",
      (r) => (r.privateNetwork = "10.100.0.0/24"),
      'hcloud-deploy:privateNetwork: "10.100.0.0/24" is too small',
    ],
    [
      "a private network overlapping a load balancer's",
      (r) => {
        r.apps[1].loadBalancer = { network: "10.100.0.0/16" };
      },
      'hcloud-deploy:privateNetwork: 10.100.0.0/16 overlaps the load balancer network 10.100.0.0/16 of app "api"',
    ],
  ])("%s", (_case, mutate, expected) => {
    const message = errorOf(mutate);
    expect(message.startsWith(expected)).toBe(true);
    expect(message).not.toContain("\n");
  });

  test("names inside longer names are not references: apy.internal.example.com, svc.apy.internal, apy.internals", () => {
    const r = raw();
    r.apps[0].env = {
      A: "https://apy.internal.example.com/",
      B: "svc.apy.internal",
      C: "apy.internals",
      D: "http://api.internal",
    };
    expect(parseConfig("dev", r, secrets).apps[0].env).toEqual(r.apps[0].env);
  });

  test("a valid stack: public false kept, the default range", () => {
    const config = parseConfig("dev", raw(), secrets);
    expect(config.apps.map((a) => [a.name, a.public])).toEqual([
      ["web", true],
      ["api", false],
      ["db", true],
    ]);
    expect(config.privateNetwork).toBe("10.100.0.0/16");
  });
});

describe("where <app>.internal points from each host", () => {
  const config = parseConfig("dev", raw(), secrets);
  const ips = { a: "10.100.0.2", b: "10.100.0.3", c: "10.100.1.2" };

  test.each([
    ["web on a: api on b over the private network", "web", "a", { "api.internal": ["10.100.0.3"] }],
    ["web on b: api through b's own proxy", "web", "b", { "api.internal": ["172.30.0.1"] }],
    ["api on b: web on b first, then web on a", "api", "b", { "web.internal": ["172.30.0.1", "10.100.0.2"] }],
    [
      "db on b: web and api, no entry for itself",
      "db",
      "b",
      { "web.internal": ["172.30.0.1", "10.100.0.2"], "api.internal": ["172.30.0.1"] },
    ],
  ])("%s", (_case, app, host, expected) => {
    expect(internalHostsOf(app, host, config.apps, config.hosts, ips)).toEqual(expected);
  });

  test("another network zone gets nothing from this one; a host without an address yet is left out", () => {
    expect(internalHostsOf("web", "c", config.apps, config.hosts, ips)).toEqual({});
    expect(internalHostsOf("web", "a", config.apps, config.hosts, { a: "10.100.0.2" })).toEqual({});
  });

  test("zones with hosts get the range's /24s in order; one host needs no network", () => {
    expect(privateNetworkZones(config.hosts)).toEqual(["eu-central", "us-east"]);
    expect(zoneSubnets("10.100.0.0/16", ["eu-central", "us-east"])).toEqual({
      "eu-central": "10.100.0.0/24",
      "us-east": "10.100.1.0/24",
    });
    expect(privateNetworkZones(config.hosts.slice(0, 1))).toEqual([]);
    expect(() => zoneSubnets("10.0.0.0/23", ["a", "b", "c"])).toThrow(
      "10.0.0.0/23 holds 2 /24 subnets, and 3 network zones need one each",
    );
  });
});
