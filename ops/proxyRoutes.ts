/**
 * Reads an app's route out of the host proxy's configuration (Caddy's `apps.http.servers`, as the
 * report fetches it from the admin socket). A route belongs to an app when one of its `@id`s names
 * the app (`web`, `web-route`, `web:upstreams`, …; the longest app name of the host wins, so `web-admin`
 * is not `web`'s), or, failing ids, when its server listens on the app's host port.
 */

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every value under `key` anywhere in a JSON value. */
function collect(value: unknown, key: string, into: unknown[] = []): unknown[] {
  if (Array.isArray(value)) value.forEach((v) => collect(v, key, into));
  else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (k === key) into.push(v);
      collect(v, key, into);
    }
  }
  return into;
}

/** Whether an `@id` names this app: the name itself, or the name followed by a separator. */
export function idNamesApp(id: string, app: string): boolean {
  return id === app || (id.startsWith(app) && /^[-_:./@]/.test(id.slice(app.length)));
}

function describe(listen: unknown[], route: unknown): string {
  const dials = collect(route, "dial").map(String);
  const where = listen.map(String).join(",") || "?";
  return `${where} → ${dials.length > 0 ? [...new Set(dials)].join(", ") : "(no upstream)"}`;
}

/**
 * `<listen> → <upstream dials>` for the app's route, or undefined when there is no proxy (null), or
 * the proxy has no route for it (then `no route` when a proxy answered).
 */
export function routeOf(
  app: string,
  servers: unknown,
  hostPort: number,
  otherApps: readonly string[] = [],
): string | undefined {
  if (!isObject(servers)) return undefined;
  const longer = otherApps.filter((other) => other.length > app.length && other.startsWith(app));
  const mine = (id: string) => idNamesApp(id, app) && !longer.some((other) => idNamesApp(id, other));
  for (const server of Object.values(servers)) {
    if (!isObject(server)) continue;
    const listen = Array.isArray(server.listen) ? server.listen : [];
    const routes = Array.isArray(server.routes) ? server.routes : [];
    const named = routes.find((r) => collect(r, "@id").some((id) => typeof id === "string" && mine(id)));
    if (named !== undefined) return describe(listen, named);
  }
  for (const server of Object.values(servers)) {
    if (!isObject(server) || !Array.isArray(server.listen)) continue;
    if (server.listen.some((l) => String(l).endsWith(`:${hostPort}`)))
      return describe(server.listen, server.routes);
  }
  return "no route";
}
