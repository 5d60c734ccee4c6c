/**
 * The HAProxy configuration that stands in for one hcloud Load Balancer (pure, so tests check exactly
 * what runs): a frontend per service on the load balancer's addresses, a backend per service with one
 * server per target on its private IP, and the service's health check.
 */
import type { LoadBalancerSpec } from "./emulator/cloudBackend";
import type { LoadBalancerService } from "./emulator/state";

export interface HaproxyPaths {
  /** Admin socket: health status, server-state dumps. */
  socket: string;
  /** Where server states are kept across reloads. */
  stateFile: string;
  /** The PEM (certificate, then key) of a certificate. */
  certificate: (id: number) => string;
}

/** `2??` → `2[0-9][0-9]`: Hetzner's status patterns as one anchored regex. */
export function statusRegex(codes: string[]): string {
  return `^(${codes.map((code) => code.replace(/\?/g, "[0-9]")).join("|")})$`;
}

const backendName = (service: LoadBalancerService) => `svc${service.listen_port}`;
const serverName = (serverId: number) => `s${serverId}`;

function bindLines(spec: LoadBalancerSpec, port: number, tls: string): string[] {
  // :::port v4v6 is both families; without a public interface only the private address answers.
  const addresses = spec.publicInterface
    ? [`:::${port} v4v6`]
    : spec.privateIp
      ? [`${spec.privateIp}:${port}`]
      : [];
  return addresses.map((address) => `  bind ${address}${tls}`);
}

function healthLines(service: LoadBalancerService): string[] {
  const check = service.health_check;
  const http = check.http;
  if (check.protocol === "tcp" || !http) return ["  option tcp-check"];
  // HTTP/1.1 needs a Host header; without a domain, HTTP/1.0 asks the same without one.
  const send = http.domain
    ? `  http-check send meth GET uri ${http.path} ver HTTP/1.1 hdr Host ${http.domain}`
    : `  http-check send meth GET uri ${http.path}`;
  return [
    "  option httpchk",
    send,
    `  http-check expect rstatus ${statusRegex(http.status_codes)}`,
    ...(http.response ? [`  http-check expect string ${http.response.replace(/\s/g, "\\ ")}`] : []),
  ];
}

function serviceLines(spec: LoadBalancerSpec, service: LoadBalancerService, paths: HaproxyPaths): string[] {
  const name = backendName(service);
  const mode = service.protocol === "tcp" ? "tcp" : "http";
  const certificates = service.http?.certificates ?? [];
  const tls =
    service.protocol === "https"
      ? ` ssl ${certificates.map((id) => `crt ${paths.certificate(id)}`).join(" ")}`
      : "";
  const check = service.health_check;
  const checkTls = check.protocol === "https" || check.http?.tls ? " check-ssl verify none" : "";
  const frontend = [
    `frontend ${name}`,
    `  mode ${mode}`,
    ...bindLines(spec, service.listen_port, tls),
    ...(mode === "http" ? ["  option forwardfor"] : []),
    ...(service.protocol === "https" ? ["  http-request set-header X-Forwarded-Proto https"] : []),
    ...(service.http ? [`  timeout client ${service.http.timeout_idle}s`] : []),
    `  default_backend ${name}`,
  ];
  const redirect = service.http?.redirect_http
    ? [
        `frontend ${name}_redirect`,
        "  mode http",
        ...bindLines(spec, 80, ""),
        "  http-request redirect scheme https code 301",
      ]
    : [];
  const backend = [
    `backend ${name}`,
    `  id ${service.listen_port}`,
    `  mode ${mode}`,
    `  balance ${spec.algorithm === "least_connections" ? "leastconn" : "roundrobin"}`,
    ...healthLines(service),
    `  timeout check ${check.timeout}s`,
    // A target is out after `retries` failed checks and back after one good one.
    `  default-server inter ${check.interval}s fall ${Math.max(1, check.retries)} rise 1${checkTls}`,
    ...(service.proxyprotocol ? ["  default-server send-proxy"] : []),
    ...spec.targets.map(
      (target) =>
        `  server ${serverName(target.serverId)} ${target.address}:${service.destination_port}` +
        ` id ${target.serverId} check port ${check.port}`,
    ),
  ];
  return [...frontend, "", ...redirect, ...(redirect.length ? [""] : []), ...backend, ""];
}

/** The whole configuration, or undefined when there is nothing to listen for (HAProxy refuses that). */
export function haproxyConfig(spec: LoadBalancerSpec, paths: HaproxyPaths): string | undefined {
  if (spec.services.length === 0) return undefined;
  return [
    "global",
    `  stats socket ${paths.socket} mode 600 level admin expose-fd listeners`,
    `  server-state-file ${paths.stateFile}`,
    // Fewer than an lb11's 10000: HAProxy wants two file descriptors per connection and the harness's
    // limit is 20000.
    "  maxconn 4096",
    "",
    "defaults",
    "  timeout connect 5s",
    "  timeout client 50s",
    "  timeout server 50s",
    "  load-server-state-from-file global",
    "",
    ...spec.services.flatMap((service) => serviceLines(spec, service, paths)),
  ].join("\n");
}

const STATE_HEADER =
  "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight " +
  "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state " +
  "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl " +
  "srv_check_port srv_check_addr srv_agent_addr srv_agent_port";

/**
 * The server states HAProxy loads on (re)start: what it reported before a reload for servers that stay
 * as they were, and for every new server "down, check failed" (as HAProxy writes it), so a new target
 * receives traffic only after it passed a health check. Without it every reload would bring all
 * targets back up, dead ones included.
 */
export function serverStateFile(spec: LoadBalancerSpec, dump = ""): string {
  const previous = new Map<string, string>();
  for (const line of dump.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 19 || line.startsWith("#")) continue;
    // Keyed by backend, server, address and port: a server that moved starts over.
    previous.set([fields[0], fields[2], fields[4], fields[18]].join(" "), line.trim());
  }
  const lines = spec.services.flatMap((service) =>
    spec.targets.map((target) => {
      const [be, srv, port] = [service.listen_port, target.serverId, service.destination_port];
      const kept = previous.get([be, srv, target.address, port].join(" "));
      return (
        kept ??
        [
          be,
          backendName(service),
          srv,
          serverName(srv),
          target.address,
          0,
          0,
          1,
          1,
          0,
          8,
          2,
          0,
          6,
          0,
          1,
          1,
          "-",
          port,
        ]
          .concat(["-", 0, 0, "-", "-", 0])
          .join(" ")
      );
    }),
  );
  return ["1", STATE_HEADER, ...lines, ""].join("\n");
}
