import { ProxyTls, TLS_ISSUERS } from "../components/shell/caddy";
import { ConfigError, ConfigNode, node, RawConfig, requireUnique } from "./reader";
import { AppConfig, DEFAULTS, HostConfig, RolloutConfig } from "./types";

/** How apps are served: rollout settings, HTTPS (domains, certificates), and the ports the proxy listens on. */

/** A DNS name in lowercase: labels of letters, digits and dashes, at least two of them. */
const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;
const EMAIL = /^[^@\s'"\\`$]+@[^@\s'"\\`$]+\.[^@\s'"\\`$]+$/;
/** The ports an app with domains takes on its hosts' proxy. */
export const HTTPS_PORTS = [80, 443];

/** A rollout block (the stack's or an app's); absent fields come from `fallback`. */
export function parseRollout(n: ConfigNode, fallback: RolloutConfig): RolloutConfig {
  if (!n.present) return fallback;
  const rollout = {
    hostsAtOnce: n.field("hostsAtOnce").integer(1, 100, fallback.hostsAtOnce),
    drainSeconds: n.field("drainSeconds").integer(0, 3600, fallback.drainSeconds),
  };
  n.done();
  return rollout;
}

export function parseTls(raw: RawConfig): ProxyTls {
  const n = node(raw, "tls");
  if (!n.present) return DEFAULTS.tls;
  const issuer = n.field("issuer").oneOf(TLS_ISSUERS, DEFAULTS.tls.issuer);
  const emailNode = n.field("email");
  const tls = emailNode.present
    ? { issuer, email: emailNode.matching(EMAIL, "an e-mail address") }
    : { issuer };
  n.done();
  return tls;
}

export function parseDomains(n: ConfigNode): string[] {
  const items = n.optionalItems();
  const domains = items.map((item) => item.matching(DOMAIN, "a lowercase DNS name such as app.example.com"));
  requireUnique(domains, items, (d) => d, "domain");
  return domains;
}

/**
 * The ports the proxy listens on for an app: 80 and 443 with domains, else its hostPort, else none. Behind
 * a load balancer, TLS ends there and the hosts serve plain HTTP on hostPort whatever the domains.
 */
export function proxyPorts(app: Pick<AppConfig, "domains" | "hostPort" | "loadBalancer">): number[] {
  if (hostDomains(app).length > 0) return HTTPS_PORTS;
  return app.hostPort === undefined ? [] : [app.hostPort];
}

/**
 * The ports the hosts' firewalls open to the internet for an app: its proxy ports, none with `public: false`
 * (the stack's other hosts still reach them over the private network, which the firewalls do not filter).
 */
export function firewallPorts(
  app: Pick<AppConfig, "domains" | "hostPort" | "loadBalancer" | "public">,
): number[] {
  return app.public ? proxyPorts(app) : [];
}

/**
 * Apps the last deployment served on a port that now get no route (neither hostPort nor domains: the
 * default changed in 2026-12), one warning each: the preview shows it before anyone loses the route.
 */
export function droppedRoutes(
  apps: readonly Pick<AppConfig, "name" | "domains" | "hostPort" | "loadBalancer">[],
  servedPorts: Readonly<Record<string, number>>,
): string[] {
  return apps.flatMap((app) => {
    const before = servedPorts[app.name];
    if (before === undefined || proxyPorts(app).length > 0) return [];
    return [
      `app "${app.name}" was served on port ${before} by the last deployment and now gets no proxy route ` +
        `and no firewall port (an app without hostPort or domains is reached only on the apps' network): ` +
        `set hostPort: ${before} to keep serving it`,
    ];
  });
}

/** The domains the host proxy itself serves over HTTPS: none behind a load balancer. */
export function hostDomains(app: Pick<AppConfig, "domains" | "loadBalancer">): readonly string[] {
  return app.loadBalancer ? [] : app.domains;
}

/**
 * Per host, no two apps on one proxy port, except that apps with domains share 80 and 443 (they are told
 * apart by host name); a domain is served by one app only.
 */
export function checkPublicPorts(apps: AppConfig[], nodes: ConfigNode[], hosts: HostConfig[]): void {
  const owners = new Map<string, string>();
  apps.forEach((app, i) => {
    app.domains.forEach((domain, j) => {
      const other = owners.get(domain);
      if (other) nodes[i].field("domains").items()[j].fail(`"${domain}" is already served by app "${other}"`);
      owners.set(domain, app.name);
    });
  });
  for (const host of hosts) {
    const seen = new Map<number, AppConfig>();
    apps.forEach((app, i) => {
      if (!app.hosts.includes(host.name)) return;
      for (const port of proxyPorts(app)) {
        const other = seen.get(port);
        const https = (a: AppConfig) => hostDomains(a).length > 0;
        if (other && !(https(other) && https(app))) {
          const key = https(app) ? "domains" : "hostPort";
          nodes[i]
            .field(key)
            .fail(`port ${port} on host "${host.name}" is already used by app "${other.name}"`);
        }
        seen.set(port, app);
      }
    });
  }
}

/** `hostPort` names the proxy's plain-HTTP port; an app with domains is served on 443 (and 80 redirects). */
export function checkHostPortWithDomains(n: ConfigNode, domains: string[]): void {
  if (domains.length > 0 && n.field("hostPort").present) {
    throw new ConfigError(
      `${n.key}.hostPort`,
      "is not used with domains: the proxy serves them on 443 and redirects 80; remove hostPort",
    );
  }
}
