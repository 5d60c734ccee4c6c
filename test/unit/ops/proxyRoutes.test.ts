import { idNamesApp, routeOf } from "../../../ops/proxyRoutes";

test.each<[string, string, boolean]>([
  ["web", "web", true],
  ["web-route", "web", true],
  ["web:upstreams", "web", true],
  ["hcloud-deploy/web", "web", false],
  ["webapp", "web", false],
  ["api-route", "web", false],
])("@id %j names app %j: %p", (id, app, names) => {
  expect(idNamesApp(id, app)).toBe(names);
});

// Caddy's apps.http.servers as the admin API returns it: one server per listen port.
const servers = {
  srv80: {
    listen: [":80"],
    routes: [
      { "@id": "web-route", handle: [{ handler: "reverse_proxy", upstreams: [{ dial: "web-blue:8080" }] }] },
      {
        "@id": "web-admin-route",
        handle: [{ handler: "reverse_proxy", upstreams: [{ dial: "web-admin:9000" }] }],
      },
    ],
  },
  srv8080: {
    listen: [":8080"],
    routes: [{ handle: [{ handler: "reverse_proxy", upstreams: [{ dial: "api-1:8080" }] }] }],
  },
};

test.each<[string, number, string[], string | undefined]>([
  ["web", 80, ["web", "web-admin"], ":80 → web-blue:8080"],
  ["web-admin", 80, ["web", "web-admin"], ":80 → web-admin:9000"],
  ["api", 8080, ["api"], ":8080 → api-1:8080"],
  ["worker", 9999, ["worker"], "no route"],
])("route of %s on port %d", (app, port, apps, route) => {
  expect(routeOf(app, servers, port, apps)).toBe(route);
});

test("without a proxy there is no route to read", () => {
  expect(routeOf("web", null, 80)).toBeUndefined();
});
