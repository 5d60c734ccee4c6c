/**
 * Reads an app's route out of the host proxy's configuration (Caddy's `apps.http.servers`, as the
 * report fetches it from the admin socket): the route whose `@id` is the app's (see proxyNames).
 */
import { proxyNames } from "../components/shell/prelude";

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

/**
 * `<listen> → <upstream dials>` (with `<host names>` for an HTTPS route) for the app's route, `no route`
 * when the proxy has none for it, or undefined when there is no proxy to ask (null).
 */
export function routeOf(app: string, servers: unknown): string | undefined {
  if (!isObject(servers)) return undefined;
  const id = proxyNames(app).route;
  for (const server of Object.values(servers)) {
    if (!isObject(server)) continue;
    const route = (Array.isArray(server.routes) ? server.routes : []).find(
      (r) => isObject(r) && r["@id"] === id,
    );
    if (route === undefined) continue;
    const listen = (Array.isArray(server.listen) ? server.listen : []).map(String).join(",") || "?";
    const hosts = collect(route, "host").flat().map(String);
    const dials = [...new Set(collect(route, "dial").map(String))];
    return `${listen}${hosts.length > 0 ? ` ${hosts.join(",")}` : ""} → ${dials.join(", ") || "(no upstream)"}`;
  }
  return "no route";
}
