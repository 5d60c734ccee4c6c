import { baseConfig, CADDY_UNIT_DROP_IN, canonicalJson, ProxyTls, tlsApps } from "./caddy";
import { APP_NETWORK, FAIL_FUNCTION, PROXY, sayFunction, shQuote } from "./prelude";

/**
 * What every host needs besides Docker: the proxy (Caddy, its unit drop-in and base config), the Docker
 * settings apps rely on (restarts without downtime, IPv6 with NAT66), and the apps' network. New hosts get
 * the files from cloud-init; existing hosts get them from hostSetupScript, which HetznerHost runs whenever
 * their content changes.
 */

/**
 * Docker daemon settings. live-restore keeps containers running while dockerd restarts or crashes;
 * ip6tables (experimental in Docker 20.10) makes Docker NAT the apps' ULA IPv6 addresses to the host's.
 */
export const DOCKER_DAEMON_CONFIG = {
  experimental: true,
  ip6tables: true,
  "live-restore": true,
  // Rotated logs keep a chatty container from filling the disk of a small VM.
  "log-driver": "json-file",
  "log-opts": { "max-file": "3", "max-size": "10m" },
};

export const DOCKER_DAEMON_PATH = "/etc/docker/daemon.json";

/** A file as cloud-init's write_files and hostSetupScript put it on a host. */
export interface HostFile {
  readonly path: string;
  readonly content: string;
  readonly permissions: string;
}

/**
 * Caddy listens with SO_REUSEPORT and, on every config change (each rollout makes two), opens new
 * sockets and closes the old ones: connections still waiting in a closed socket's accept queue get a
 * reset. Measured with Caddy 2.6.2 under 20 clients: 378 resets in 173 reloads, none with this on. Linux
 * 5.14+ then hands them to the new socket. Set by hostSetupScript, not cloud-init: user data changes
 * replace servers.
 */
export const PROXY_SYSCTL: HostFile = {
  path: "/etc/sysctl.d/60-hcloud-deploy.conf",
  permissions: "0644",
  content:
    "# hcloud-deploy: a proxy reload hands waiting connections on instead of resetting them\nnet.ipv4.tcp_migrate_req = 1\n",
};

/** The files every host carries, in the order they are written. */
export function hostFiles(tls: ProxyTls): HostFile[] {
  return [
    { path: DOCKER_DAEMON_PATH, permissions: "0644", content: canonicalJson(DOCKER_DAEMON_CONFIG) + "\n" },
    { path: PROXY.unitDropIn, permissions: "0644", content: CADDY_UNIT_DROP_IN },
    { path: PROXY.baseConfig, permissions: "0644", content: baseConfig(tls) + "\n" },
  ];
}

/**
 * Shell functions for Caddy's admin API over its unix socket. `admin METHOD PATH [curl args]` prints the
 * answer and fails when the call does (the answer, e.g. Caddy's error, is still printed); `send METHOD
 * PATH BODY` sends JSON.
 */
export const ADMIN_FUNCTIONS = `admin() {
  admin_method=$1 admin_path=$2
  shift 2
  admin_out=$(curl -sS --max-time 30 --unix-socket ${PROXY.adminSocket} -H 'Host: ' -X "$admin_method" \\
    -w '\\n%{http_code}' "$@" "http://caddy$admin_path" 2>&1) || { printf '%s' "$admin_out" | tail -n 1; return 1; }
  admin_code=$(printf '%s' "$admin_out" | tail -n 1)
  printf '%s' "$admin_out" | sed '$d'
  [ "$admin_code" -lt 400 ]
}
send() { admin "$1" "$2" -H 'Content-Type: application/json' --data-binary "$3"; }`;

/**
 * Converges a host on hostFiles, the proxy and the apps' network (sh, as root). Idempotent: only what
 * differs is written, caddy restarts only when its unit changed or it is not running, and Docker's
 * settings are applied with live-restore switched on first, so running containers keep running. With the
 * internal issuer, ends by printing the CA's root certificate (clients of the local stack trust it).
 */
export function hostSetupScript(hostName: string, tls: ProxyTls): string {
  const files = hostFiles(tls);
  const apps = tlsApps(tls);
  const converge = files
    .map((f) => `changed="$changed $(converge ${f.path} ${f.permissions} ${shQuote(f.content)})"`)
    .join("\n");
  return `set -eu
${sayFunction(shQuote("proxy"), shQuote(hostName))}
${FAIL_FUNCTION}
${ADMIN_FUNCTIONS}
# converge PATH MODE CONTENT: writes the file when its content differs, and then prints its path.
converge() {
  if printf '%s' "$3" | cmp -s - "$1" 2>/dev/null; then return 0; fi
  mkdir -p "$(dirname "$1")"
  { printf '%s' "$3" >"$1.new" && chmod "$2" "$1.new" && mv "$1.new" "$1"; } 2>/dev/null ||
    fail "cannot write $1 (disk full?)"
  echo "$1"
}
# wait_for WHAT SECONDS COMMAND...
wait_for() {
  what=$1 deadline=$(( $(date +%s) + $2 ))
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "$what"
    sleep 0.2
  done
}

changed=""
# Written before caddy is installed, so the package's first start already runs this config.
${converge}
converge ${PROXY_SYSCTL.path} ${PROXY_SYSCTL.permissions} ${shQuote(PROXY_SYSCTL.content)} >/dev/null
sysctl -q -w net.ipv4.tcp_migrate_req=1 2>/dev/null ||
  say "warning: this kernel has no net.ipv4.tcp_migrate_req (older than 5.14): a proxy config change may reset a connection still waiting to be accepted"
if ! command -v caddy >/dev/null 2>&1; then
  say "installing caddy from the distribution's packages"
  export DEBIAN_FRONTEND=noninteractive
  if ! out=$(apt-get -o DPkg::Lock::Timeout=120 update -qq 2>&1 &&
    apt-get -o DPkg::Lock::Timeout=120 install -y -qq caddy 2>&1); then
    fail "installing caddy failed: $(printf '%s' "$out" | tail -n 1)"
  fi
fi
systemctl enable caddy >/dev/null 2>&1 || fail "cannot enable caddy.service"
case $changed in
  *${PROXY.unitDropIn}*)
    systemctl daemon-reload
    # A config autosaved by caddy before it ran ours would win over the base config.
    home=$(getent passwd caddy | cut -d: -f6)
    systemctl stop caddy
    if [ -f "$home/.config/caddy/autosave.json" ]; then
      mv "$home/.config/caddy/autosave.json" "$home/.config/caddy/autosave.json.before-hcloud-deploy"
    fi
    systemctl start caddy || fail "caddy did not start"
    ;;
  *) systemctl is-active --quiet caddy || systemctl start caddy || fail "caddy did not start" ;;
esac
wait_for "caddy's admin API did not answer on ${PROXY.adminSocket} within 30s" 30 admin GET /config/
for app in tls pki; do
  case $app in
    tls) want=${shQuote(canonicalJson(apps.tls))} ;;
    pki) want=${shQuote(canonicalJson(apps.pki))} ;;
  esac
  if [ "$(admin GET "/config/apps/$app" || true)" != "$want" ]; then
    out=$(send POST "/config/apps/$app" "$want") || fail "setting the proxy's $app config failed: $out"
  fi
done

case $changed in
  *${DOCKER_DAEMON_PATH}*)
    say "applying Docker's settings (live-restore, IPv6 NAT); running containers keep running"
    # live-restore can be switched on by a reload; with it on, the restart leaves containers running.
    systemctl reload docker
    sleep 1
    systemctl restart docker || fail "dockerd did not restart with ${DOCKER_DAEMON_PATH}"
    ;;
esac
wait_for "dockerd did not answer within 60s" 60 docker info
if ! docker network inspect ${APP_NETWORK.name} >/dev/null 2>&1; then
  out=$(docker network create --ipv6 --subnet ${APP_NETWORK.ipv4Subnet} --subnet ${APP_NETWORK.ipv6Subnet} \\
    -o com.docker.network.bridge.name=${APP_NETWORK.bridge} ${APP_NETWORK.name} 2>&1) ||
    fail "creating the Docker network ${APP_NETWORK.name} failed: $out"
fi
say "ready: $(caddy version | cut -d' ' -f1), admin API on ${PROXY.adminSocket}, network ${APP_NETWORK.name}"
${tls.issuer === "internal" ? INTERNAL_CA_PRINT : ""}`;
}

// The JSON string escapes newlines as \n; printf %b turns them back.
const INTERNAL_CA_PRINT = `ca=$(admin GET /pki/ca/local | sed -n 's/.*"root_certificate":"\\([^"]*\\)".*/\\1/p')
[ -n "$ca" ] || fail "the proxy's internal CA has no root certificate"
printf '%b' "$ca"
`;

/** The internal CA's root certificate in a host setup's output (PEM), or "" when there is none. */
export function caCertificateOf(output: string): string {
  const match = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/.exec(output);
  return match ? match[0].trimEnd() + "\n" : "";
}
