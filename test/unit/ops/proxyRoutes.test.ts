import { routeOf } from "../../../ops/proxyRoutes";

// Caddy's apps.http.servers as the admin API returns it, in the shape the host proxy builds (caddy.ts):
// an app without domains has its own server; apps with domains share the HTTPS server.
const servers = {
  "hcloud-deploy-web": {
    automatic_https: { disable: true },
    listen: [":80"],
    routes: [
      {
        "@id": "hcloud-deploy-web",
        handle: [
          {
            "@id": "hcloud-deploy-web-proxy",
            handler: "reverse_proxy",
            upstreams: [{ dial: "172.31.0.3:8080" }, { dial: "172.31.0.2:8080" }],
          },
        ],
      },
    ],
  },
  "hcloud-deploy.https": {
    listen: [":443"],
    routes: [
      {
        "@id": "hcloud-deploy-shop",
        match: [{ host: ["shop.example.com", "www.shop.example.com"] }],
        handle: [{ handler: "reverse_proxy", upstreams: [{ dial: "172.31.0.4:3000" }] }],
        terminal: true,
      },
    ],
  },
};

test.each<[string, string]>([
  ["web", ":80 → 172.31.0.3:8080, 172.31.0.2:8080"],
  ["shop", ":443 shop.example.com,www.shop.example.com → 172.31.0.4:3000"],
  ["api", "no route"],
  // A longer name that starts with another app's is its own app.
  ["web-admin", "no route"],
])("route of %s", (app, route) => {
  expect(routeOf(app, servers)).toBe(route);
});

test("without a proxy there is no route to read", () => {
  expect(routeOf("web", null)).toBeUndefined();
});
