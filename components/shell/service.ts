import * as crypto from "crypto";
import { APP_NETWORK, LABELS, PATHS, shQuote } from "./prelude";
import type { VolumeMount } from "./volumes";

export const HEALTH_TYPES = ["http", "tcp", "command"] as const;

/**
 * How a new version replaces the running one: `overlap` starts it next to the old one and switches
 * without dropping a request; `recreate` stops the old one first, so two copies never open the same data.
 */
export const ROLLOUT_STRATEGIES = ["overlap", "recreate"] as const;
export type RolloutStrategy = (typeof ROLLOUT_STRATEGIES)[number];

interface HealthTiming {
  /** How long a new revision may take to pass, in seconds. */
  readonly timeoutSeconds: number;
  /** Pause between attempts, in seconds. */
  readonly intervalSeconds: number;
}

/**
 * The check a new revision must pass before it takes over: an HTTP answer 2xx/3xx on `path` (the default;
 * `type` is left out so the settings of existing apps hash as before), the app port accepting a TCP
 * connection (a database, a cache), or a command run inside the container exiting 0 (`pg_isready`).
 */
export type HealthCheck =
  | (HealthTiming & {
      readonly type?: "http";
      /** Absolute URL path, e.g. `/healthz`. */
      readonly path: string;
    })
  | (HealthTiming & { readonly type: "tcp" })
  | (HealthTiming & {
      readonly type: "command";
      /** Program and arguments, run with `docker exec` (no shell unless the command names one). */
      readonly command: readonly string[];
    });

/** The HTTP path of an http check; undefined for tcp and command checks. */
export function httpPathOf(health: HealthCheck): string | undefined {
  return health.type === undefined || health.type === "http" ? health.path : undefined;
}

export interface ServiceSpec {
  readonly app: string;
  readonly hostName: string;
  /** Image reference on the host (the delivery's host tag). */
  readonly image: string;
  /** Port the app listens on inside its container. */
  readonly port: number;
  /** Port the proxy serves the app on (apps without domains); neither: no route, the apps' network only. */
  readonly hostPort?: number;
  /** Host names the proxy serves over HTTPS (80 redirects); empty for plain HTTP on hostPort. */
  readonly domains: readonly string[];
  readonly memory: string;
  readonly cpus: number;
  readonly restart: string;
  readonly health: HealthCheck;
  /** Upper bound for requests in flight to the old version to finish, in seconds. */
  readonly drainSeconds: number;
  /** Plain (non-secret) environment: part of the settings hash, delivered with the env file. */
  readonly env: Readonly<Record<string, string>>;
  /**
   * Identity of the Pulumi resource that runs this script (a hash of its triggers), kept as a container
   * label: after a replacement, the old resource's delete must leave the new resource's container alone,
   * even when both have the same settings (a replaced server, say).
   */
  readonly instance: string;
  /** Releases of the app kept on the host after a rollout (see pruneScript); not part of the settings. */
  readonly keepImages: number;
  /** Host directories mounted into the container; default none. */
  readonly volumes?: readonly VolumeMount[];
  /** Default `overlap`. */
  readonly strategy?: RolloutStrategy;
  /** Containers of the app on the host, behind the proxy's round robin; memory and cpus are each one's. Default 1. */
  readonly replicas?: number;
  /** Host name to addresses, as `/etc/hosts` lines in every container (`<app>.internal`). Default none. */
  readonly internalHosts?: Readonly<Record<string, readonly string[]>>;
}

/**
 * Content hash of what the container runs with: image, port, limits, restart policy, health check, plain
 * env, volumes, replicas. Not the host, the instance, or how the proxy reaches it (port, domains, drain): those
 * change the route, never the container.
 */
export function settingsHash(spec: Omit<ServiceSpec, "instance" | "hostName">): string {
  const { app, image, port, memory, cpus, restart, health, env } = spec;
  // Without volumes, no key: the settings of apps from before volumes hash as they did.
  // Where data lives, not how big its disk is: a resize restarts nothing.
  const volumes = spec.volumes?.length
    ? { volumes: spec.volumes.map(({ name, path }) => ({ name, path })) }
    : {};
  const replicas = (spec.replicas ?? 1) > 1 ? { replicas: spec.replicas } : {};
  const internalHosts =
    Object.keys(spec.internalHosts ?? {}).length > 0 ? { internalHosts: spec.internalHosts } : {};
  const settings = {
    app,
    image,
    port,
    memory,
    cpus,
    restart,
    health,
    env,
    ...volumes,
    ...replicas,
    ...internalHosts,
  };
  return crypto.createHash("sha256").update(JSON.stringify(settings)).digest("hex").slice(0, 12);
}

/** `docker run` options putting each name's addresses in the container's /etc/hosts, in order. */
export function addHostArgs(names: Readonly<Record<string, readonly string[]>> = {}): string[] {
  return Object.entries(names).flatMap(([name, addresses]) =>
    addresses.map((address) => `--add-host ${shQuote(`${name}:${address}`)}`),
  );
}

/**
 * sh (needs `fail`): sets $dns_mount to the docker run option that gives a container the host's IPv6
 * resolvers, where Docker cannot forward to them itself (empty otherwise, or when the host has none).
 */
export const APP_RESOLVERS = `# Docker 20.10's embedded resolver forwards to IPv4 servers only, so on an IPv6-only host it answers
# nothing: the app gets the host's IPv6 resolvers (DNS64 ones included) directly, and the names of other
# apps do not resolve. Docker 26 forwards to them itself (moby PR 47512) and answers the apps' names.
servers=$(awk '$1 == "nameserver" && $2 ~ /:/ && $2 != "::1" { print "nameserver " $2 }' /etc/resolv.conf 2>/dev/null || true)
dns_mount=""
engine=$(docker version --format '{{.Server.Version}}' 2>/dev/null || echo 0)
if [ -n "$servers" ] && [ "\${engine%%.*}" -lt 26 ]; then
  { printf '%s\n' "$servers"; grep -E '^(search|options) ' /etc/resolv.conf || true; } >${PATHS.appConfig}/resolv.conf ||
    fail "cannot write ${PATHS.appConfig}/resolv.conf (disk full?)"
  chmod 0644 ${PATHS.appConfig}/resolv.conf
  # One word, so it stays one argument when quoted.
  dns_mount="--mount=type=bind,source=${PATHS.appConfig}/resolv.conf,target=/etc/resolv.conf,readonly"
fi`;

/** Docker env-file text. Docker cannot express newlines in env-file values, so those are refused. */
export function envFileContent(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => {
      if (/[\r\n]/.test(v))
        throw new Error(`environment variable ${k} contains a newline, which Docker env files cannot hold`);
      return `${k}=${v}\n`;
    })
    .join("");
}

/** What a health check is, for messages: `GET /healthz on port 8080`. */
export function healthCheckText(health: HealthCheck, port: number): string {
  if (health.type === "tcp") return `TCP connection to port ${port}`;
  if (health.type === "command") return `command ${health.command.join(" ")} in the container`;
  return `GET ${health.path} on port ${port}`;
}

/** sh: `attempt ADDRESS:PORT CONTAINER`, one try of the check; sets $last on failure. */
function attemptFunction(health: HealthCheck): string {
  if (health.type === "tcp") {
    // sh has no /dev/tcp; Debian's images have bash.
    return `attempt() {
  # shellcheck disable=SC2016 # bash expands $0 and $1, the address and the port
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "\${1%:*}" "\${1##*:}" 2>/dev/null && return 0
  last="port \${1##*:} refused the connection"
  return 1
}`;
  }
  if (health.type === "command") {
    return `attempt() {
  out=$(timeout ${Math.max(health.intervalSeconds, 5)} docker exec "$2" ${health.command.map(shQuote).join(" ")} 2>&1) && return 0
  last="exit $?: $(printf '%s' "$out" | tail -n 1)"
  return 1
}`;
  }
  return `attempt() {
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$1${health.path}" || true)
  case $code in 2??|3??) return 0 ;; esac
  last="HTTP \${code:-000}"
  return 1
}`;
}

/**
 * sh: `exists NAME` is true for a container of exactly that name. Docker resolves a name it does not
 * know as an ID prefix, so `docker inspect db` or `docker rm -f db` with no container named db would
 * take any container (or image) whose ID starts with "db": every bare app name goes through this first.
 */
export const EXISTS_FUNCTION = `exists() { [ -n "$(docker ps -aq --filter "name=^$1\\$")" ]; }`;

/**
 * Shell functions about the app's containers: exists, running, healthy (polls a URL), dial_of (the address:port
 * the proxy dials), free_address (a fixed address on the apps' network nobody holds, even stopped) and
 * explain (the last line of an error, naming a full disk as such).
 */
export function containerFunctions(spec: Pick<ServiceSpec, "health">): string {
  const network = `index .NetworkSettings.Networks ${JSON.stringify(APP_NETWORK.name)}`;
  const fixedAddress = `{{with ${network}}}{{with .IPAMConfig}}{{.IPv4Address}}{{end}}{{end}}`;
  const prefix = APP_NETWORK.ipv4Subnet.replace(/\.0\/24$/, ".");
  return `${EXISTS_FUNCTION}
running() { exists "$1" && [ "$(docker inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }

# healthy ADDRESS:PORT SECONDS CONTAINER: polls the app's health check until it passes; sets $last to
# the last failure.
${attemptFunction(spec.health)}
healthy() {
  deadline=$(( $(date +%s) + $2 ))
  while :; do
    attempt "$1" "$3" && return 0
    running "$3" || { last="container exited: $(docker logs --tail 5 "$3" 2>&1 | tr '\\n' ' ')"; return 1; }
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep ${spec.health.intervalSeconds}
  done
}

dial_of() {
  exists "$1" || return 1
  dial_ip=$(docker inspect --format ${shQuote(fixedAddress)} "$1" 2>/dev/null || true)
  [ -n "$dial_ip" ] && echo "$dial_ip:$port"
}

free_address() {
  used=$(docker ps -aq --filter label=${LABELS.app} | xargs -r docker inspect --format ${shQuote(fixedAddress)})
  used="$used $(docker network inspect --format '{{range .Containers}}{{.IPv4Address}} {{end}}' ${APP_NETWORK.name} | sed 's|/[0-9]*||g')"
  # One address per word, with a space on either side of each.
  used=" $(printf '%s' "$used" | tr '\\n' ' ') "
  n=2
  while [ $n -lt 255 ]; do
    case $used in *" ${prefix}$n "*) n=$((n + 1)) ;; *) echo "${prefix}$n"; return 0 ;; esac
  done
  fail "no free address left on the Docker network ${APP_NETWORK.name}"
}

explain() {
  # Docker's own reason, where it gave one; its usage hints ("See 'docker run --help'") say nothing.
  explained=$(printf '%s\\n' "$1" | tr -d '\\r' | grep -v -e '^ *$' -e "docker run --help" | tail -n 1)
  case $1 in
    *"no space left on device"* | *"No space left on device"*) printf 'disk full (%s)' "$explained" ;;
    *) printf '%s' "$explained" ;;
  esac
}`;
}
