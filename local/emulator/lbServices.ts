import { Body, optionalArray, optionalBoolean, optionalObject, optionalString } from "./body";
import { ApiError, invalidInput } from "./errors";
import { EmulatorState, LoadBalancerService } from "./state";

/**
 * Services of a load balancer as add_service / update_service describe them. Fields left out get the
 * API's defaults (shared/hcloud-lb-api-notes.md 5.3); update_service merges into what is there.
 */

const PROTOCOLS = ["http", "https", "tcp"] as const;
type Protocol = (typeof PROTOCOLS)[number];
type HealthCheck = LoadBalancerService["health_check"];
type HealthHttp = NonNullable<HealthCheck["http"]>;
type ServiceHttp = NonNullable<LoadBalancerService["http"]>;

const DEFAULT_STATUS_CODES = ["2??", "3??"];
const STATUS_CODE = /^[1-5][0-9?]{2}$/;

function integer(body: Body, field: string, min: number, max: number, fallback?: number): number {
  const value = body[field] ?? fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalidInput(field, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function protocol(body: Body, field: string, fallback?: Protocol): Protocol {
  const value = optionalString(body, field) ?? fallback;
  if (!PROTOCOLS.includes(value as Protocol))
    throw invalidInput(field, `must be one of ${PROTOCOLS.join(", ")}`);
  return value as Protocol;
}

function readHealthHttp(body: Body | undefined, base: HealthHttp | null): HealthHttp {
  const sent = body ?? {};
  const domain = optionalString(sent, "domain");
  const codes = sent.status_codes === undefined ? undefined : optionalArray(sent, "status_codes");
  if (codes?.some((code) => typeof code !== "string" || !STATUS_CODE.test(code))) {
    throw invalidInput("health_check.http.status_codes", 'must be status codes such as "200" or "2??"');
  }
  const path = optionalString(sent, "path") ?? base?.path ?? "/";
  if (!path.startsWith("/")) throw invalidInput("health_check.http.path", "must start with /");
  return {
    // Sent as "" when unset; the API reports null.
    domain: domain === undefined ? (base?.domain ?? null) : domain === "" ? null : domain,
    path: path === "" ? "/" : path,
    response: optionalString(sent, "response") ?? base?.response ?? "",
    status_codes: (codes as string[] | undefined) ?? base?.status_codes ?? [...DEFAULT_STATUS_CODES],
    tls: optionalBoolean(sent, "tls") ?? base?.tls ?? false,
  };
}

function readHealthCheck(body: Body | undefined, base: HealthCheck, serviceProtocol: Protocol): HealthCheck {
  if (!body) return base;
  const checkProtocol = protocol(body, "protocol", base.protocol);
  const sentHttp = optionalObject(body, "http");
  return {
    protocol: checkProtocol,
    port: integer(body, "port", 1, 65535, base.port),
    interval: integer(body, "interval", 1, 3600, base.interval),
    timeout: integer(body, "timeout", 1, 3600, base.timeout),
    retries: integer(body, "retries", 0, 10, base.retries),
    http:
      checkProtocol === "tcp" && serviceProtocol === "tcp" && !sentHttp
        ? null
        : readHealthHttp(sentHttp, base.http),
  };
}

function readHttp(
  body: Body | undefined,
  base: ServiceHttp | null,
  serviceProtocol: Protocol,
  state: EmulatorState,
): ServiceHttp | null {
  if (serviceProtocol === "tcp") return null;
  const sent = body ?? {};
  const from = base ?? {
    cookie_name: "HCLBSTICKY",
    cookie_lifetime: 300,
    certificates: [],
    redirect_http: false,
    sticky_sessions: false,
    timeout_idle: 50,
  };
  const certificates =
    sent.certificates === undefined ? from.certificates : optionalArray(sent, "certificates");
  for (const id of certificates) {
    if (!state.certificates.some((c) => c.id === id)) {
      throw invalidInput("http.certificates", `certificate ${JSON.stringify(id)} does not exist`);
    }
  }
  const http: ServiceHttp = {
    // The provider sends "" for an unset cookie name on update.
    cookie_name: optionalString(sent, "cookie_name")?.trim()
      ? (sent.cookie_name as string)
      : from.cookie_name,
    cookie_lifetime: integer(sent, "cookie_lifetime", 30, 86400 * 365, from.cookie_lifetime),
    certificates: certificates as number[],
    redirect_http: optionalBoolean(sent, "redirect_http") ?? from.redirect_http,
    sticky_sessions: optionalBoolean(sent, "sticky_sessions") ?? from.sticky_sessions,
    timeout_idle: integer(sent, "timeout_idle", 1, 3600, from.timeout_idle),
  };
  if (serviceProtocol === "https" && http.certificates.length === 0) {
    throw invalidInput("http.certificates", "an https service needs at least one certificate");
  }
  if (serviceProtocol === "http" && http.redirect_http) {
    throw invalidInput("http.redirect_http", "is only possible for https services");
  }
  return http;
}

/** A service from an add_service body, or `base` changed by an update_service body. */
export function readService(
  body: Body,
  state: EmulatorState,
  base?: LoadBalancerService,
): LoadBalancerService {
  const serviceProtocol = protocol(body, "protocol", base?.protocol);
  const fallbackPort = serviceProtocol === "http" ? 80 : serviceProtocol === "https" ? 443 : undefined;
  const listenPort = base?.listen_port ?? integer(body, "listen_port", 1, 65535, fallbackPort);
  const destinationPort = integer(
    body,
    "destination_port",
    1,
    65535,
    base?.destination_port ?? (serviceProtocol === "https" ? 80 : listenPort),
  );
  const defaultCheck: HealthCheck = {
    protocol: serviceProtocol === "tcp" ? "tcp" : "http",
    port: destinationPort,
    interval: 15,
    timeout: 10,
    retries: 3,
    http: serviceProtocol === "tcp" ? null : readHealthHttp(undefined, null),
  };
  return {
    protocol: serviceProtocol,
    listen_port: listenPort,
    destination_port: destinationPort,
    proxyprotocol: optionalBoolean(body, "proxyprotocol") ?? base?.proxyprotocol ?? false,
    health_check: readHealthCheck(
      optionalObject(body, "health_check"),
      base?.health_check ?? defaultCheck,
      serviceProtocol,
    ),
    http: readHttp(optionalObject(body, "http"), base?.http ?? null, serviceProtocol, state),
  };
}

/**
 * The ports a set of services listens on: their own, and 80 for an https service that redirects.
 * add_service answers a clash with 412, update_service with 422 (OpenAPI).
 */
export function assertPortsFree(services: LoadBalancerService[], status: 412 | 422): void {
  const seen = new Set<number>();
  for (const service of services) {
    const ports = [service.listen_port, ...(service.http?.redirect_http ? [80] : [])];
    for (const port of ports) {
      if (seen.has(port)) {
        throw new ApiError(
          status,
          "source_port_already_used",
          `port ${port} is already used by another service`,
        );
      }
      seen.add(port);
    }
  }
}
