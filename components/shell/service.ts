import * as crypto from "crypto";
import { FAIL_FUNCTION, LABELS, PATHS, sayFunction, shQuote } from "./prelude";
import { pruneScript } from "./prune";

export interface ServiceSpec {
  readonly app: string;
  readonly hostName: string;
  /** Image reference on the host (the delivery's host tag). */
  readonly image: string;
  readonly port: number;
  readonly hostPort: number;
  readonly memory: string;
  readonly cpus: number;
  readonly restart: string;
  readonly health: {
    readonly path: string;
    readonly timeoutSeconds: number;
    readonly intervalSeconds: number;
  };
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
 * Content hash of the settings (not the host, the instance or the pruning policy, which do not change
 * how the container runs): a trigger of the service.
 */
export function settingsHash(spec: Omit<ServiceSpec, "instance"> & { instance?: string }): string {
  const { hostName: _hostName, instance: _instance, keepImages: _keepImages, ...settings } = spec;
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
 * Converges the app's container on the host (stdin: the env file, secrets included; written 0600).
 * Health-gated: a candidate with the new revision must answer its check before the running container
 * is stopped; if it never does, the running one is untouched and the script fails naming app, host and
 * check. Idempotent: a container already at this revision is left alone. Afterwards, old images of the
 * app are pruned.
 *
 * `create` also claims the container for the resource that runs it (a count per instance on the host):
 * a forced replacement (`pulumi up --replace`, how `status --repair` works) creates the same instance
 * again before the old resource's delete runs, and that delete must leave the container to its
 * successor. `update` (an input change of the same resource) runs the same convergence without a claim.
 */
export function serviceScript(spec: ServiceSpec, phase: "create" | "update" = "create"): string {
  const settings = settingsHash(spec);
  const check = `GET ${spec.health.path} on port ${spec.port}`;
  const runArgs = [
    `--env-file "$env_file"`,
    `--memory ${shQuote(spec.memory)}`,
    `--cpus ${shQuote(spec.cpus)}`,
    `--label ${LABELS.app}=${shQuote(spec.app)}`,
    `--label ${LABELS.instance}=${shQuote(spec.instance)}`,
    `--label "${LABELS.revision}=$revision"`,
  ].join(" ");
  const claim =
    phase === "create"
      ? `echo $(( $(cat "$claims" 2>/dev/null || echo 0) + 1 )) > "$claims"`
      : `[ -s "$claims" ] || echo 1 > "$claims"`;
  return `set -eu
app=${shQuote(spec.app)} image=${shQuote(spec.image)} instance=${shQuote(spec.instance)}
${sayFunction('"$app"', shQuote(spec.hostName))}
${FAIL_FUNCTION}
running() { [ "$(docker inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ]; }

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

# A run cut off in the middle of a swap leaves the old container as -previous: put it back first.
if ! docker inspect "$app" >/dev/null 2>&1 && docker inspect "$app-previous" >/dev/null 2>&1; then
  docker rename "$app-previous" "$app" && docker start "$app" >/dev/null
fi

umask 077
dir=${PATHS.appConfig}/$app
mkdir -p "$dir"
cat > "$dir/env.new"
revision=${settings}-$(sha256sum < "$dir/env.new" | cut -c1-12)
env_file=$dir/$revision.env
mv "$dir/env.new" "$env_file"

claims=$dir/claims.$instance
finish() {
  find "$dir" -name 'claims.*' ! -name "claims.$instance" -delete
  ${claim}
  ${pruneScript({ app: spec.app, hostName: spec.hostName, keep: spec.keepImages, pinned: [spec.image] })}
}

current=$(docker inspect --format '{{index .Config.Labels "${LABELS.revision}"}}/{{index .Config.Labels "${LABELS.instance}"}}' "$app" 2>/dev/null || true)
if [ "$current" = "$revision/$instance" ] && running "$app"; then
  say "revision $revision already running"
  finish
  exit 0
fi

say "starting candidate $revision from $image"
docker rm -f "$app-candidate" >/dev/null 2>&1 || true
docker run -d --name "$app-candidate" ${runArgs} "$image" >/dev/null
candidate_ip=$(docker inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$app-candidate")
if ! healthy "http://$candidate_ip:${spec.port}${spec.health.path}" ${spec.health.timeoutSeconds} "$app-candidate"; then
  docker logs --tail 20 "$app-candidate" >&2 2>&1 || true
  docker rm -f "$app-candidate" >/dev/null
  rm -f "$env_file"
  fail "health check ${check} did not pass within ${spec.health.timeoutSeconds}s ($last); the previous version keeps serving"
fi
docker rm -f "$app-candidate" >/dev/null

# Swap: the old container steps aside (kept until the new one answers on the published port).
if docker inspect "$app" >/dev/null 2>&1; then
  docker rename "$app" "$app-previous"
  docker stop --time 10 "$app-previous" >/dev/null
fi
restore() {
  docker rm -f "$app" >/dev/null 2>&1 || true
  if docker inspect "$app-previous" >/dev/null 2>&1; then
    docker rename "$app-previous" "$app" && docker start "$app" >/dev/null
  fi
  rm -f "$env_file"
  fail "$1; the previous version was restored"
}
docker run -d --name "$app" --restart ${shQuote(spec.restart)} -p ${spec.hostPort}:${spec.port} ${runArgs} "$image" >/dev/null ||
  restore "docker run failed"
healthy "http://[::1]:${spec.hostPort}${spec.health.path}" 30 "$app" ||
  restore "health check ${check} failed on the published port ${spec.hostPort} ($last)"
docker rm -f "$app-previous" >/dev/null 2>&1 || true
find "$dir" -name '*.env' ! -name "$revision.env" -delete
say "revision $revision serving on port ${spec.hostPort}"
finish
`;
}

/**
 * Removes the app's container, but only when this resource started it and no other resource claims it:
 * during a replacement the new resource's container is already serving when the old one is deleted.
 */
export function serviceRemoveScript(spec: ServiceSpec): string {
  return `set -eu
app=${shQuote(spec.app)} instance=${shQuote(spec.instance)}
${sayFunction('"$app"', shQuote(spec.hostName))}
dir=${PATHS.appConfig}/$app
claims=$dir/claims.$instance
running=$(docker inspect --format '{{index .Config.Labels "${LABELS.instance}"}}' "$app" 2>/dev/null || true)
if [ "$running" != "$instance" ]; then
  rm -f "$claims"
  say "the container was started by another deployment; left in place"
  exit 0
fi
left=$(( $(cat "$claims" 2>/dev/null || echo 1) - 1 ))
if [ "$left" -gt 0 ]; then
  echo "$left" > "$claims"
  say "a replacement of this deployment took the container over; left in place"
  exit 0
fi
docker rm -f "$app" "$app-previous" "$app-candidate" >/dev/null 2>&1 || true
rm -rf "$dir"
say "removed the container"
`;
}
