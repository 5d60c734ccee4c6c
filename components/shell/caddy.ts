import { PROXY, proxyNames } from "./prelude";

/**
 * The host proxy's JSON config, piece by piece: the base config Caddy starts from, the TLS settings, and
 * each app's server or route. Pure; objects come out with their keys sorted, the way Caddy's admin API
 * returns them, so a script can compare what is loaded with what should be by plain string equality.
 */

/** How certificates for apps with domains are obtained. */
export const TLS_ISSUERS = ["acme", "internal"] as const;
/** `acme`: Let's Encrypt over ACME; `internal`: Caddy's own CA (local stack, tests). */
export type TlsIssuer = (typeof TLS_ISSUERS)[number];

export interface ProxyTls {
  readonly issuer: TlsIssuer;
  /** Contact address for ACME accounts (expiry notices). Default: none. */
  readonly email?: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** JSON with object keys sorted at every level, as Go marshals maps. */
export function canonicalJson(value: Json): string {
  const sort = (v: Json): Json => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === "object") {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sort(v[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(value));
}

/** apps.tls and apps.pki: the issuer, and an internal CA that never installs itself anywhere. */
export function tlsApps(tls: ProxyTls): { tls: Json; pki: Json } {
  // Let's Encrypt answers over IPv6, which an IPv6-only host needs.
  const issuer: Json =
    tls.issuer === "internal"
      ? { module: "internal" }
      : { module: "acme", ...(tls.email ? { email: tls.email } : {}) };
  return {
    tls: { automation: { policies: [{ issuers: [issuer] }] } },
    // Left on, Caddy adds its root to the machine's trust store, which a simulated host shares.
    pki: { certificate_authorities: { local: { install_trust: false } } },
  };
}

/** What Caddy loads when it has no autosaved config: the admin socket, TLS, no servers yet. */
export function baseConfig(tls: ProxyTls): string {
  return canonicalJson({
    admin: { listen: `unix/${PROXY.adminSocket}` },
    apps: { http: { servers: {} }, ...tlsApps(tls) },
  });
}

/**
 * systemd drop-in for the packaged caddy.service: run on the base config, resume the autosaved one
 * (routes survive restarts and reboots), come back when it dies, and keep `systemctl reload` from
 * replacing the live config with the packaged Caddyfile.
 */
export const CADDY_UNIT_DROP_IN = `[Service]
ExecStart=
ExecStart=/usr/bin/caddy run --resume --config ${PROXY.baseConfig}
ExecReload=
RuntimeDirectory=caddy
Restart=always
RestartSec=1
`;

/** Where an app is reached: its own port (plain HTTP), or HTTPS on its domains (the shared :443 server). */
export interface AppEndpoint {
  readonly app: string;
  /** Proxy port for an app without domains. */
  readonly hostPort: number;
  /** Host names served over HTTPS (80 redirects); empty for a plain HTTP app on hostPort. */
  readonly domains: readonly string[];
  /** Containers of the app on the host, balanced round robin when more than one. Default: 1. */
  readonly replicas?: number;
  /** With replicas: the http check's path, which the proxy also probes to take a failing one out. */
  readonly healthPath?: string;
}

/** Stands in for the upstream list in templates; a script puts `[{"dial":…},…]` in its place. */
export const UPSTREAMS = "__UPSTREAMS__";
/**
 * Stands in for the draining handler after the app's handler: empty, or `,{"handler":"reverse_proxy",
 * "upstreams":[…]}` listing the versions that finish their requests. Caddy never reaches a handler after a
 * reverse_proxy, but keeps its upstreams in the pool whose in-flight counts the drain reads; listed in the
 * app's handler instead, round robin would send them new requests.
 */
export const DRAINING = "__DRAINING__";

/**
 * The app's reverse_proxy handler. One container: `first`, the only upstream. Replicas: round robin, and
 * a replica that does not take a connection within 1 s gets no request for 10 s (nor while it fails the
 * http check the proxy runs every 2 s). Either way a request meeting a refusing upstream is held and retried for up to 5 s (a
 * container restarting costs latency, not an error).
 */
function handler(endpoint: AppEndpoint): Json {
  const replicas = (endpoint.replicas ?? 1) > 1;
  const active: Json =
    endpoint.healthPath === undefined
      ? {}
      : { active: { interval: "2s", timeout: "2s", uri: endpoint.healthPath } };
  return {
    "@id": proxyNames(endpoint.app).upstream,
    handler: "reverse_proxy",
    ...(replicas ? { health_checks: { ...active, passive: { fail_duration: "10s", max_fails: 1 } } } : {}),
    load_balancing: {
      selection_policy: { policy: replicas ? "round_robin" : "first" },
      try_duration: "5s",
      try_interval: "250ms",
    },
    // A stopped replica's address answers nothing (no container behind it on the bridge, so no refusal):
    // a short dial timeout lets the retry reach another in time.
    ...(replicas ? { transport: { dial_timeout: "1s", protocol: "http" } } : {}),
    upstreams: UPSTREAMS,
  };
}

/**
 * The config object an app owns, with UPSTREAMS and DRAINING as placeholders: for a plain HTTP app its whole server
 * (at apps/http/servers/<server>), for an app with domains its route in the shared HTTPS server.
 */
export function appProxyTemplate(endpoint: AppEndpoint): string {
  const names = proxyNames(endpoint.app);
  const route: Json =
    endpoint.domains.length === 0
      ? { "@id": names.route, handle: [handler(endpoint), DRAINING] }
      : {
          "@id": names.route,
          handle: [handler(endpoint), DRAINING],
          match: [{ host: [...endpoint.domains] }],
          terminal: true,
        };
  const json =
    endpoint.domains.length === 0
      ? canonicalJson({
          automatic_https: { disable: true },
          listen: [`:${endpoint.hostPort}`],
          routes: [route],
        })
      : canonicalJson(route);
  return json.replace(`"${UPSTREAMS}"`, UPSTREAMS).replace(`,"${DRAINING}"`, DRAINING);
}

/** The shared server of apps with domains; automatic HTTPS adds the :80 redirects and certificates. */
export const HTTPS_SERVER = canonicalJson({ listen: [":443"], routes: [] });
