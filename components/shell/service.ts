import * as crypto from "crypto";
import { APP_NETWORK, LABELS, shQuote } from "./prelude";

export interface ServiceSpec {
  readonly app: string;
  readonly hostName: string;
  /** Image reference on the host (the delivery's host tag). */
  readonly image: string;
  /** Port the app listens on inside its container. */
  readonly port: number;
  /** Port the proxy serves the app on (apps without domains). */
  readonly hostPort: number;
  /** Host names the proxy serves over HTTPS (80 redirects); empty for plain HTTP on hostPort. */
  readonly domains: readonly string[];
  readonly memory: string;
  readonly cpus: number;
  readonly restart: string;
  readonly health: {
    readonly path: string;
    readonly timeoutSeconds: number;
    readonly intervalSeconds: number;
  };
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
}

/**
 * Content hash of what the container runs with: image, port, limits, restart policy, health check, plain
 * env. Not the host, the instance, or how the proxy reaches it (port, domains, drain): those change the
 * route, never the container.
 */
export function settingsHash(spec: Omit<ServiceSpec, "instance" | "hostName">): string {
  const { app, image, port, memory, cpus, restart, health, env } = spec;
  const settings = { app, image, port, memory, cpus, restart, health, env };
  return crypto.createHash("sha256").update(JSON.stringify(settings)).digest("hex").slice(0, 12);
}

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

/**
 * Shell functions about the app's containers: running, healthy (polls a URL), dial_of (the address:port
 * the proxy dials), free_address (a fixed address on the apps' network nobody holds, even stopped) and
 * explain (the last line of an error, naming a full disk as such).
 */
export function containerFunctions(spec: Pick<ServiceSpec, "health">): string {
  const network = `index .NetworkSettings.Networks ${JSON.stringify(APP_NETWORK.name)}`;
  const fixedAddress = `{{with ${network}}}{{with .IPAMConfig}}{{.IPv4Address}}{{end}}{{end}}`;
  const prefix = APP_NETWORK.ipv4Subnet.replace(/\.0\/24$/, ".");
  return `running() { [ "$(docker inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }

# healthy URL SECONDS CONTAINER: polls until a 2xx/3xx answer; sets $last to the last failure.
healthy() {
  deadline=$(( $(date +%s) + $2 ))
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" || true)
    case $code in 2??|3??) return 0 ;; esac
    last="HTTP \${code:-000}"
    running "$3" || { last="container exited: $(docker logs --tail 5 "$3" 2>&1 | tr '\\n' ' ')"; return 1; }
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep ${spec.health.intervalSeconds}
  done
}

dial_of() {
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
