import { parseConfig } from "../../../config/loader";
import { ConfigError } from "../../../config/reader";
import { PlainSecrets } from "../../../config/secrets";
import { deployerKey } from "../support/program";

// Three hosts: two in eu-central (fsn1, nbg1) and one in us-east (ash).
function raw(apps: Record<string, unknown>[]): Record<string, any> {
  return {
    sshPublicKey: deployerKey.sshPublicKey,
    sshAllowedCidrs: ["2001:db8::/32"],
    registry: { namespace: "example-org", username: "bot" },
    hosts: [
      { name: "fsn-1", location: "fsn1" },
      { name: "nbg-1", location: "nbg1" },
      { name: "ash-1", location: "ash" },
    ],
    apps,
  };
}

const secrets: PlainSecrets = {
  sshPrivateKey: deployerKey.sshPrivateKey,
  registryPushToken: "push",
  appSecrets: {},
  hcloudToken: "t".repeat(64),
};

const web = (extra: Record<string, unknown> = {}) => ({
  name: "web",
  hosts: ["nbg-1", "fsn-1"],
  build: { context: "apps/web" },
  port: 8080,
  hostPort: 80,
  ...extra,
});
const api = (extra: Record<string, unknown> = {}) => ({ ...web(extra), name: "api", hostPort: 8080 });

const appsOf = (apps: Record<string, unknown>[]) => parseConfig("prod", raw(apps), secrets).apps;

describe("loadBalancer and domains: accepted values and defaults", () => {
  test.each([
    ["true", true, { type: "lb11", location: "nbg1", network: "10.0.0.0/16" }],
    [
      '"true" as pulumi config set writes it',
      "true",
      { type: "lb11", location: "nbg1", network: "10.0.0.0/16" },
    ],
    ["an empty object", {}, { type: "lb11", location: "nbg1", network: "10.0.0.0/16" }],
    [
      "every field",
      { type: "lb21", location: "fsn1", network: "172.20.0.0/20" },
      { type: "lb21", location: "fsn1", network: "172.20.0.0/20" },
    ],
  ])("%s", (_name, value, expected) => {
    expect(appsOf([web({ loadBalancer: value })])[0].loadBalancer).toEqual(expected);
  });

  test("absent or false: no load balancer", () => {
    const [a, b] = appsOf([web(), api({ loadBalancer: false })]);
    expect(["loadBalancer" in a, "loadBalancer" in b]).toEqual([false, false]);
  });

  test("domains are kept in order; absent means none; behind a load balancer hostPort stays", () => {
    const [a, b] = appsOf([
      web({ domains: ["www.example.com", "example.com"], loadBalancer: true }),
      api({ loadBalancer: { network: "10.1.0.0/16" } }),
    ]);
    expect([a.domains, b.domains]).toEqual([["www.example.com", "example.com"], []]);
    expect([a.hostPort, b.hostPort]).toEqual([80, 8080]);
  });

  test("two load-balanced apps on the same hosts with separate networks", () => {
    const apps = appsOf([web({ loadBalancer: true }), api({ loadBalancer: { network: "10.1.0.0/16" } })]);
    expect(apps.map((a) => a.loadBalancer?.network)).toEqual(["10.0.0.0/16", "10.1.0.0/16"]);
  });
});

const invalid: [string, Record<string, unknown>[], string][] = [
  [
    "a number",
    [web({ loadBalancer: 5 })],
    "hcloud-deploy:apps[0].loadBalancer: must be true or an object { type, location, network }",
  ],
  [
    "unknown type",
    [web({ loadBalancer: { type: "big" } })],
    'hcloud-deploy:apps[0].loadBalancer.type: "big" is not a Hetzner load balancer type such as "lb11"',
  ],
  [
    "unknown location",
    [web({ loadBalancer: { location: "fra1" } })],
    'hcloud-deploy:apps[0].loadBalancer.location: "fra1" is not one of "fsn1"',
  ],
  [
    "typo in a field",
    [web({ loadBalancer: { tpye: "lb11" } })],
    'hcloud-deploy:apps[0].loadBalancer: unknown field "tpye"',
  ],
  [
    "public network range",
    [web({ loadBalancer: { network: "8.8.0.0/16" } })],
    'hcloud-deploy:apps[0].loadBalancer.network: "8.8.0.0/16" is not a private IPv4 range (inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)',
  ],
  [
    "IPv6 network range",
    [web({ loadBalancer: { network: "fd00::/48" } })],
    'hcloud-deploy:apps[0].loadBalancer.network: "fd00::/48" is not a private IPv4 range',
  ],
  [
    "network too small for a /24 subnet",
    [web({ loadBalancer: { network: "10.0.0.0/24" } })],
    'hcloud-deploy:apps[0].loadBalancer.network: "10.0.0.0/24" is too small: use /23 or larger',
  ],
  [
    "network over Docker's default bridge",
    [web({ loadBalancer: { network: "172.16.0.0/12" } })],
    `hcloud-deploy:apps[0].loadBalancer.network: "172.16.0.0/12" overlaps Docker's default bridge 172.17.0.0/16 on the hosts`,
  ],
  [
    "network with host bits",
    [web({ loadBalancer: { network: "10.0.0.1/16" } })],
    'hcloud-deploy:apps[0].loadBalancer.network: "10.0.0.1/16" has host bits set',
  ],
  [
    "a host outside the load balancer's network zone",
    [web({ hosts: ["fsn-1", "ash-1"], loadBalancer: true })],
    'hcloud-deploy:apps[0].loadBalancer.location: host "ash-1" is in ash (us-east), but a load balancer in fsn1 reaches only hosts in eu-central',
  ],
  [
    "an explicit location in another zone",
    [web({ loadBalancer: { location: "ash" } })],
    'hcloud-deploy:apps[0].loadBalancer.location: host "nbg-1" is in nbg1 (eu-central), but a load balancer in ash reaches only hosts in us-east',
  ],
  [
    "overlapping networks on a shared host",
    [web({ loadBalancer: true }), api({ hosts: ["fsn-1"], loadBalancer: { network: "10.0.0.0/8" } })],
    'hcloud-deploy:apps[1].loadBalancer.network: 10.0.0.0/8 overlaps the network of app "web", which shares host "fsn-1"',
  ],
  [
    "a domain with capitals",
    [web({ domains: ["Example.com"] })],
    'hcloud-deploy:apps[0].domains[0]: "Example.com" is not a lowercase DNS name',
  ],
  [
    "a single-label domain",
    [web({ domains: ["localhost"] })],
    'hcloud-deploy:apps[0].domains[0]: "localhost" is not a lowercase DNS name',
  ],
  [
    "a domain twice in one app",
    [web({ domains: ["example.com", "example.com"] })],
    'hcloud-deploy:apps[0].domains[1]: duplicate domain "example.com"',
  ],
  [
    "one domain for two apps",
    [
      web({ domains: ["example.com"], loadBalancer: true }),
      api({ domains: ["example.com"], loadBalancer: { network: "10.1.0.0/16" } }),
    ],
    'hcloud-deploy:apps[1].domains[0]: "example.com" is already served by app "web"',
  ],
  ["domains not a list", [web({ domains: "example.com" })], "hcloud-deploy:apps[0].domains: must be a list"],
];

describe("loadBalancer and domains: one line naming the key", () => {
  test.each(invalid)("%s", (_name, apps, expected) => {
    let message = "config was accepted";
    try {
      parseConfig("prod", raw(apps), secrets);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message.startsWith(expected)).toBe(true);
    expect(message).not.toContain("\n");
  });
});
