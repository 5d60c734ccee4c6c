import { parseConfig } from "../../../config/loader";
import { servedPortsOf } from "../../../config/previous";
import { droppedRoutes, firewallPorts, proxyPorts } from "../../../config/serving";
import { PlainSecrets } from "../../../config/secrets";
import { deployerKey } from "../support/program";

const secrets: PlainSecrets = {
  sshPrivateKey: deployerKey.sshPrivateKey,
  registryPushToken: "push",
  appSecrets: {},
  hcloudToken: "t".repeat(64),
};

/** One app on one host, with these fields besides its name, host, build and port 5432. */
function appWith(extra: Record<string, unknown>) {
  const raw = {
    sshPublicKey: deployerKey.sshPublicKey,
    sshAllowedCidrs: ["2001:db8::/32"],
    registry: { namespace: "example-org", username: "bot" },
    hosts: [{ name: "fsn-1", location: "fsn1" }],
    apps: [{ name: "db", hosts: ["fsn-1"], build: { context: "apps/db" }, port: 5432, ...extra }],
  };
  return parseConfig("dev", raw, secrets).apps[0];
}

describe("which apps the proxy serves, and on which ports the firewall opens", () => {
  test.each([
    ["neither hostPort nor domains: no route, no port", {}, undefined, []],
    ["hostPort: plain HTTP there", { hostPort: 8080 }, 8080, [8080]],
    ["domains: HTTPS on 443, 80 redirects", { domains: ["db.example.com"] }, undefined, [80, 443]],
    ["a load balancer: its targets' port, the app's port by default", { loadBalancer: {} }, 5432, [5432]],
  ])("%s", (_case, extra, hostPort, ports) => {
    const app = appWith(extra);
    expect(app.hostPort).toBe(hostPort);
    expect(proxyPorts(app)).toEqual(ports);
    expect(firewallPorts(app)).toEqual(ports);
  });

  test.each([
    ["hostPort", { hostPort: 8080, public: false }, [8080]],
    ["a load balancer's targets' port", { loadBalancer: {}, public: false }, [5432]],
  ])("public: false keeps the proxy on the %s and the firewall closed", (_case, extra, ports) => {
    const app = appWith(extra);
    expect([app.public, proxyPorts(app), firewallPorts(app)]).toEqual([false, ports, []]);
  });
});

describe("an app the last deployment served on a port that now gets no route: one warning", () => {
  const served = servedPortsOf({
    "web-1": { web: { hostPort: 80, domains: [] }, site: { hostPort: 8443, domains: ["example.com"] } },
    "web-2": { api: { hostPort: 8080, domains: [] }, db: { domains: [] } },
  });

  test("served ports are read from hostApps: plain-HTTP apps only (with domains, 443 is the route)", () => {
    expect(served).toEqual({ web: 80, api: 8080 });
    expect(servedPortsOf(undefined)).toEqual({});
    expect(servedPortsOf({ "web-1": "not an object" })).toEqual({});
  });

  test.each([
    ["api without hostPort now", { name: "api", domains: [], hostPort: undefined }, 1],
    ["api keeps its hostPort", { name: "api", domains: [], hostPort: 8080 }, 0],
    ["api moves to domains", { name: "api", domains: ["api.example.com"], hostPort: undefined }, 0],
    ["db never had a route", { name: "db", domains: [], hostPort: undefined }, 0],
  ])("%s", (_case, app, warnings) => {
    expect(droppedRoutes([app], served)).toHaveLength(warnings);
  });

  test("the warning names the app, the port and the fix", () => {
    expect(droppedRoutes([{ name: "api", domains: [], hostPort: undefined }], served)).toEqual([
      'app "api" was served on port 8080 by the last deployment and now gets no proxy route and no ' +
        "firewall port (an app without hostPort or domains is reached only on the apps' network): " +
        "set hostPort: 8080 to keep serving it",
    ]);
  });
});
