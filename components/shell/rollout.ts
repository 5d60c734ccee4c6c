import { AppEndpoint, appProxyTemplate, DRAINING, HTTPS_SERVER, UPSTREAMS } from "./caddy";
import { ADMIN_FUNCTIONS } from "./proxy";
import {
  APP_NETWORK,
  FAIL_FUNCTION,
  LABELS,
  PATHS,
  PROXY,
  proxyNames,
  sayFunction,
  shQuote,
} from "./prelude";
import { pruneScript } from "./prune";
import {
  addHostArgs,
  APP_RESOLVERS,
  containerFunctions,
  EXISTS_FUNCTION,
  healthCheckText,
  httpPathOf,
  ServiceSpec,
  settingsHash,
} from "./service";
import { keptVolumesLine, leftoverVolumesLines, prepareVolumesLines, volumeMountArgs } from "./volumes";

/** How long a `recreate` gives the old version to stop by itself (a database's clean shutdown). */
export const RECREATE_STOP_SECONDS = 30;
// A recreate stopped the old version already: there is nothing to drain, and no port to take over.
const NOTHING_TO_DRAIN = `old=""
`;
const UNAVAILABLE_FOR = `if [ -n "$stopped" ]; then
  down=$(( $(date +%s%3N) - stopped ))
  say "recreate: the app was unavailable for $((down / 1000)).$(( down % 1000 / 100 ))s"
fi
`;

/**
 * A rollout that never drops a request: the new version starts next to the old one on the apps'
 * network, must pass its health check, then the proxy sends new requests to it in one admin call while
 * the old one finishes what it has (the drain), and only then does the old one stop. A version that fails
 * its check never receives traffic. The container that serves is always named after the app. After a
 * successful rollout the app's old images are pruned.
 *
 * `create` also claims the container for the resource that runs it (a count per instance on the host):
 * a forced replacement (`pulumi up --replace`, how `status --repair` works) creates the same instance
 * again before the old resource's delete runs, and that delete must leave the container to its
 * successor. `update` (another input change of the same resource) converges without a new claim.
 */
export function rolloutScript(spec: ServiceSpec, phase: "create" | "update" = "create"): string {
  const claim =
    phase === "create"
      ? `echo $(( $(cat "$claims" 2>/dev/null || echo 0) + 1 )) > "$claims"`
      : `[ -s "$claims" ] || echo 1 > "$claims"`;
  const check = healthCheckText(spec.health, spec.port);
  const endpoint = proxyEndpoint(spec);
  const replicas = spec.replicas ?? 1;
  const serving =
    (endpoint === undefined
      ? `running, reached on the apps' network as ${spec.app}:${spec.port} (no proxy route)`
      : `serving on ${endpoint.domains.length === 0 ? `port ${endpoint.hostPort}` : `https://${endpoint.domains[0]}/`} through the proxy`) +
    (replicas > 1 ? `, ${replicas} replicas` : "");
  const runArgs = [
    `--network ${APP_NETWORK.name}`,
    // Other apps on the host reach it by its name (Docker 26's resolver; see APP_RESOLVERS).
    `--network-alias ${shQuote(spec.app)}`,
    `--restart ${shQuote(spec.restart)}`,
    // tini as PID 1 passes SIGTERM on: an app that ignores it as PID 1 still stops when asked.
    "--init",
    `--env-file "$env_file"`,
    `--memory ${shQuote(spec.memory)}`,
    `--cpus ${shQuote(spec.cpus)}`,
    `--label ${LABELS.app}=${shQuote(spec.app)}`,
    `--label ${LABELS.instance}=${shQuote(spec.instance)}`,
    `--label "${LABELS.revision}=$revision"`,
    // The mount when there is one, no word at all when not.
    '${dns_mount:+"$dns_mount"}',
    ...addHostArgs(spec.internalHosts),
    ...volumeMountArgs(spec.app, spec.volumes ?? []),
  ].join(" ");
  const recreate = spec.strategy === "recreate";
  const kept = keptVersion(spec);
  const restartOld = recreate ? "restart_old\n  " : "";
  const onReplica = replicas > 1 ? " on replica $k" : "";
  return `set -eu
app=${shQuote(spec.app)} image=${shQuote(spec.image)} port=${spec.port} replicas=${replicas}
${sayFunction('"$app"', shQuote(spec.hostName))}
${FAIL_FUNCTION}
${ADMIN_FUNCTIONS}
${containerFunctions(spec)}
${REPLICA_FUNCTIONS}
${endpoint === undefined ? noRouteFunctions(spec.app) : proxyFunctions(endpoint)}
exec 8>${PATHS.hostLock}

# A run cut off in the middle: a new container took over if the proxy already sends requests to it.
for next in $(next_list); do
  if serving_upstreams | grep -qxF "$(dial_of "$next" || true)"; then
    if exists "\${next%-next}"; then docker rm -f "\${next%-next}" >/dev/null; fi
    docker rename "$next" "\${next%-next}"
  else
    docker rm -f "$next" >/dev/null
  fi
done
# What the previous service script (before the proxy) may have left.
docker rm -f "$app-candidate" >/dev/null 2>&1 || true
if docker inspect "$app-previous" >/dev/null 2>&1; then
  if exists "$app"; then
    docker rm -f "$app-previous" >/dev/null
  else
    docker rename "$app-previous" "$app" && docker start "$app" >/dev/null
  fi
fi

umask 077
dir=${PATHS.appConfig}/$app
mkdir -p "$dir" 2>/dev/null || fail "cannot create $dir (disk full?)"
err=$(cat 2>&1 >"$dir/env.new") || fail "cannot write the env file: $(explain "$err")"
revision=${settingsHash(spec)}-$(sha256sum <"$dir/env.new" | cut -c1-12)
env_file=$dir/$revision.env
mv "$dir/env.new" "$env_file"
claims=$dir/claims.${spec.instance}
# finish MESSAGE: the rollout stands; claim it, prune what is old, say so last.
finish() {
  find "$dir" -name 'claims.*' ! -name "claims.${spec.instance}" -delete
  ${claim}
  ${pruneScript({ app: spec.app, hostName: spec.hostName, keep: spec.keepImages, pinned: [spec.image] })}
  say "$1"
}

# Every replica of this revision and deployment running with its address: nothing to roll.
current="" k=1
while [ $k -le $replicas ]; do
  c=$(replica_name $k) label=""
  if exists "$c"; then label=$(docker inspect --format '{{index .Config.Labels "${LABELS.revision}"}}/{{index .Config.Labels "${LABELS.instance}"}}' "$c" 2>/dev/null || true); fi
  if [ "$label" = "$revision/"${shQuote(spec.instance)} ] && running "$c" && dial=$(dial_of "$c") && [ -n "$dial" ]; then
    current="$current\${current:+ }$dial"
  else
    current="" k=$replicas
  fi
  k=$((k + 1))
done
if [ -n "$current" ]; then
  if [ "$(current_config)" = "$(config_for "$current" "")" ]; then
    message="revision $revision already running"
  else
    locked apply_config "$current" "" || fail "the proxy refused the route: $out"
    message="revision $revision already running; its proxy route was updated"
  fi
  remove_beyond $replicas
  finish "$message"
  exit 0
fi

${APP_RESOLVERS}

# The delivery put it here; a hand or a prune may have taken it since.
docker image inspect "$image" >/dev/null 2>&1 ||
  fail "image $image is not on the host (removed since its delivery? deploy again to deliver it); the previous version keeps serving"
${leftoverVolumesLines(spec.app, spec.volumes ?? [])}${prepareVolumesLines(spec.app, spec.volumes ?? [])}${recreate ? stopOldFirst(spec) : ""}say "starting $revision from $image${replicas > 1 ? ` (${replicas} replicas)` : ""}"
flock 8
new="" k=1
while [ $k -le $replicas ]; do
  ip=$(free_address)
  if ! out=$(docker run -d --name "$(replica_name $k)-next" --ip "$ip" ${runArgs} "$image" 2>&1); then
    remove_next
    ${restartOld}rm -f "$env_file"
    fail "docker run failed${onReplica}: $(explain "$out"); ${kept}"
  fi
  new="$new\${new:+ }$ip:$port" k=$((k + 1))
done
flock -u 8
k=1
for dial in $new; do
  if ! healthy "$dial" ${spec.health.timeoutSeconds} "$(replica_name $k)-next"; then
    docker logs --tail 20 "$(replica_name $k)-next" >&2 2>&1 || true
    remove_next
    ${restartOld}rm -f "$env_file"
    fail "health check ${check} did not pass within ${spec.health.timeoutSeconds}s${onReplica} ($last); ${kept}"
  fi
  k=$((k + 1))
done

old=$(dials_of_replicas)
legacy=false
${recreate ? NOTHING_TO_DRAIN : ""}if [ -z "$old" ] && exists "$app"${recreate ? ' && [ -z "$stopped" ]' : ""}; then
  # A container from before the proxy publishes the port itself and must let go of it first.
  say "the running container publishes its port itself: a short gap while the proxy takes the port over"
  legacy=true
  docker stop --time 10 "$app" >/dev/null 2>&1 || true
fi
# New requests go to the new version, the old one keeps what it has in flight.
if ! locked apply_config "$new" "$old"; then
  remove_next
  if $legacy; then docker start "$app" >/dev/null 2>&1 || true; fi
  rm -f "$env_file"
  fail "the proxy refused the route: $out; the previous version keeps serving"
fi
${endpoint !== undefined && endpoint.domains.length === 0 && httpPathOf(spec.health) !== undefined ? throughProxyCheck(spec, endpoint.hostPort, httpPathOf(spec.health) as string) : ""}
${recreate ? UNAVAILABLE_FOR : ""}if [ -n "$old" ]; then
  drain "$old" ${spec.drainSeconds}
  locked apply_config "$new" "" || fail "the proxy refused the route: $out"
fi
replica_list | xargs -r docker stop --time 10 >/dev/null 2>&1 || true
replica_list | xargs -r docker rm -f >/dev/null
k=1
while [ $k -le $replicas ]; do
  docker rename "$(replica_name $k)-next" "$(replica_name $k)"
  k=$((k + 1))
done
find "$dir" -name '*.env' ! -name "$revision.env" -delete
finish "revision $revision ${serving}"
`;
}

/**
 * sh (needs EXISTS_FUNCTION, dial_of, $app): the app's containers on the host. Replica 1 carries the
 * app's name (what exec, logs and one-off containers look for), replica K `<app>_K`: app names have no
 * underscore, so no other app's container matches; a new one is `<name>-next` until it takes over.
 */
const REPLICA_FUNCTIONS = `replica_name() { if [ "$1" -eq 1 ]; then echo "$app"; else echo "\${app}_$1"; fi; }
# The app's containers, any count (a lower replica count leaves more than $replicas), replica 1 first.
replica_list() { docker ps -a --format '{{.Names}}' | grep -E "^$app(_[0-9]+)?\\$" | sort -t_ -k2n || true; }
next_list() { docker ps -a --format '{{.Names}}' | grep -E "^$app(_[0-9]+)?-next\\$" || true; }
remove_next() { next_list | xargs -r docker rm -f >/dev/null 2>&1 || true; }
# The addresses the proxy dials for the app's containers, space-separated.
dials_of_replicas() {
  dials=""
  for c in $(replica_list); do
    d=$(dial_of "$c" 2>/dev/null || true)
    [ -z "$d" ] || dials="$dials\${dials:+ }$d"
  done
  echo "$dials"
}
# remove_beyond N: a lower replica count's leftovers, once the route no longer names them.
remove_beyond() {
  for c in $(replica_list); do
    case $c in "$app"_*) [ "\${c##*_}" -le "$1" ] || docker rm -f "$c" >/dev/null ;; esac
  done
}`;

/**
 * The first request through the proxy (apps with an http check); a failure puts the old version back in
 * front.
 */
function throughProxyCheck(spec: ServiceSpec, hostPort: number, path: string): string {
  const recreate = spec.strategy === "recreate";
  const kept = keptVersion(spec);
  return `if ! healthy "127.0.0.1:${hostPort}" 15 "$app-next"; then
  if [ -n "$old" ]; then locked apply_config "$old" "" || true; else locked remove_config || true; fi
  remove_next
  if $legacy; then docker start "$app" >/dev/null 2>&1 || true; fi
  ${recreate ? "restart_old\n  " : ""}rm -f "$env_file"
  fail "health check GET ${path} through the proxy on port ${hostPort} failed ($last); ${kept}"
fi`;
}

/** What the proxy serves the app on: undefined for an app with neither hostPort nor domains. */
export function proxyEndpoint(
  spec: Pick<ServiceSpec, "app" | "hostPort" | "domains"> & Partial<Pick<ServiceSpec, "replicas" | "health">>,
): AppEndpoint | undefined {
  const path = spec.health && httpPathOf(spec.health);
  // Left out for one container, so the route of an app without replicas stays as it was.
  const balanced =
    (spec.replicas ?? 1) > 1
      ? { replicas: spec.replicas, ...(path !== undefined ? { healthPath: path } : {}) }
      : {};
  // With domains the proxy serves the shared 443 server: the endpoint's hostPort goes unused.
  if (spec.domains.length > 0)
    return { app: spec.app, hostPort: spec.hostPort ?? 0, domains: spec.domains, ...balanced };
  return spec.hostPort === undefined
    ? undefined
    : { app: spec.app, hostPort: spec.hostPort, domains: [], ...balanced };
}

/**
 * For an app the proxy does not serve: every step that would touch its route takes away the one it may
 * have had (a hostPort removed from the config), and there is nothing to drain.
 */
function noRouteFunctions(app: string): string {
  const { names, own } = configPaths(app);
  return `serving_upstreams() { :; }
# Empty, as config_for, unless a route from before is still there.
current_config() {
  if [ "$(admin GET ${own} 2>/dev/null || true)" != null ] || admin GET /id/${names.route} >/dev/null 2>&1; then
    echo "a route from before"
  fi
}
config_for() { :; }
apply_config() { remove_config; }
drain() { :; }
${removalFunctions(app)}`;
}

/** Where the app's object lives in the proxy's config. */
function configPaths(app: string) {
  const names = proxyNames(app);
  return {
    names,
    https: `/config/apps/http/servers/${PROXY.httpsServer}`,
    own: `/config/apps/http/servers/${names.server}`,
  };
}

/** What a failed rollout says of the old version: once a recreate stopped it, every way out starts it again. */
function keptVersion(spec: ServiceSpec): string {
  return spec.strategy === "recreate"
    ? "the previous version was started again on the same data"
    : "the previous version keeps serving";
}

/**
 * sh: a recreate stops the running version before the new one starts (sets $stopped to when, in ms,
 * empty when nothing ran) and defines restart_old, which starts it again on the same data and routes to it.
 */
function stopOldFirst(spec: ServiceSpec): string {
  return `stopped="" previous=""
if [ -n "$(replica_list | while read -r c; do running "$c" && echo "$c"; done)" ]; then
  previous=$(dials_of_replicas)
  say "recreate: stopping the running version first, so two copies never open the same data"
  replica_list | xargs -r docker stop --time ${RECREATE_STOP_SECONDS} >/dev/null
  stopped=$(date +%s%3N)
fi
restart_old() {
  [ -n "$stopped" ] || return 0
  for c in $(replica_list); do
    docker start "$c" >/dev/null 2>&1 || { say "the previous version did not start again" >&2; return 0; }
    healthy "$(dial_of "$c")" ${spec.health.timeoutSeconds} "$c" || say "the previous version started again but fails its health check ($last)" >&2
  done
  [ -z "$previous" ] || locked apply_config "$previous" "" || true
}
`;
}

/**
 * Shell functions over the app's object in the proxy's config: what is loaded, what should be for some
 * upstream addresses, applying and removing it, and the in-flight count the drain waits on.
 */
function proxyFunctions(endpoint: AppEndpoint): string {
  const [before, rest] = appProxyTemplate(endpoint).split(UPSTREAMS);
  const [middle, after] = rest.split(DRAINING);
  const { names, https, own } = configPaths(endpoint.app);
  const plain = endpoint.domains.length === 0;
  return `# upstreams DIAL…: the JSON list of upstreams, first one first.
upstreams() {
  list=""
  for dial; do list="$list\${list:+,}{\\"dial\\":\\"$dial\\"}"; done
  printf '[%s]' "$list"
}
# draining DIAL…: the handler that keeps old versions' in-flight counts in the proxy's pool (see DRAINING).
draining() { [ $# -eq 0 ] || printf ',{"handler":"reverse_proxy","upstreams":%s}' "$(upstreams "$@")"; }
# config_for "SERVING…" "DRAINING…": the app's object for these upstreams, each a space-separated list.
config_for() {
  # shellcheck disable=SC2086 # each list splits into its addresses
  printf '%s%s%s%s%s' ${shQuote(before)} "$(upstreams $1)" ${shQuote(middle)} "$(draining $2)" ${shQuote(after)}
}
# The addresses that receive new requests, one per line.
serving_upstreams() { current_config | grep -o '"upstreams":\\[[^]]*\\]' | head -n 1 | grep -o '"dial":"[^"]*"' | cut -d'"' -f4; }
current_config() { admin GET ${plain ? own : `/id/${names.route}`} 2>/dev/null || true; }
# apply_config "SERVING…" "DRAINING…": puts the app's object in place; sets $out on failure.
apply_config() {
  want=$(config_for "$1" "$2")
  [ "$(current_config)" != "$want" ] || return 0
${
  plain
    ? `  # An app that had domains leaves its route in the shared server first (@ids are unique).
  if [ "$(admin GET ${own} || true)" = null ]; then admin DELETE /id/${names.route} >/dev/null 2>&1 || true; fi
  out=$(send POST ${own} "$want")`
    : `  admin DELETE ${own} >/dev/null 2>&1 || true
  if [ "$(admin GET ${https} || true)" = null ]; then
    out=$(send PUT ${https} ${shQuote(HTTPS_SERVER)}) || return 1
  fi
  if admin GET /id/${names.route} >/dev/null 2>&1; then
    out=$(send PATCH /id/${names.route} "$want")
  else
    out=$(send POST ${https}/routes "$want")
  fi`
}
}
${removalFunctions(endpoint.app)}
# in_flight DIAL…: requests the proxy has open to these upstreams, together.
in_flight() {
  counts=$(admin GET /reverse_proxy/upstreams 2>/dev/null || true)
  total=0
  for dial; do
    n=$(printf '%s' "$counts" | grep -o "\\"address\\":\\"$dial\\",\\"num_requests\\":[0-9]*" | sed 's/.*://' || true)
    total=$((total + \${n:-0}))
  done
  echo "$total"
}
# drain "DIAL…" SECONDS: waits until the old upstreams have no request in flight, at most SECONDS.
drain() {
  deadline=$(( $(date +%s) + $2 ))
  # A connection the proxy accepted just before the switch picks its upstream (the old one) a moment
  # later, and counts only from then: without this pause, such a request could meet a stopped container.
  # Within the bound: the drain still ends after $2 seconds.
  sleep 0.5
  # shellcheck disable=SC2086 # the list splits into its addresses
  while n=$(in_flight $1) && [ "$n" -gt 0 ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      say "drain: $n request(s) still in flight to the old version after $2s; stopping it anyway"
      return 0
    fi
    sleep 0.2
  done
}`;
}

/** Shell functions that take the app's object out of the proxy's config, under the host's lock. */
function removalFunctions(app: string): string {
  const { names, https, own } = configPaths(app);
  return `remove_config() {
  admin DELETE ${own} >/dev/null 2>&1 || true
  admin DELETE /id/${names.route} >/dev/null 2>&1 || true
  if [ "$(admin GET ${https}/routes 2>/dev/null || true)" = "[]" ]; then admin DELETE ${https} >/dev/null || true; fi
}
# locked COMMAND…: one change to the host's proxy config or addresses at a time.
locked() {
  flock 8
  status=0
  "$@" || status=$?
  flock -u 8
  return $status
}`;
}

/**
 * Takes the app off the host (its route, containers and env files), but only when this resource started
 * the running container and no forced replacement of it claimed it since: during a replacement the new
 * resource's container already serves when the old resource is deleted.
 */
export function rolloutRemoveScript(spec: ServiceSpec): string {
  return `set -eu
app=${shQuote(spec.app)}
${sayFunction('"$app"', shQuote(spec.hostName))}
${FAIL_FUNCTION}
${ADMIN_FUNCTIONS}
${removalFunctions(spec.app)}
${EXISTS_FUNCTION}
${REPLICA_FUNCTIONS}
exec 8>${PATHS.hostLock}
claims=${PATHS.appConfig}/$app/claims.${spec.instance}
instance=""
if exists "$app"; then instance=$(docker inspect --format '{{index .Config.Labels "${LABELS.instance}"}}' "$app" 2>/dev/null || true); fi
if [ "$instance" != ${shQuote(spec.instance)} ]; then
  rm -f "$claims"
  say "the running container was started by another deployment; left in place"
  exit 0
fi
left=$(( $(cat "$claims" 2>/dev/null || echo 1) - 1 ))
if [ "$left" -gt 0 ]; then
  echo "$left" > "$claims"
  say "a replacement of this deployment took the container over; left in place"
  exit 0
fi
locked remove_config
replica_list | xargs -r docker rm -f >/dev/null
remove_next
rm -rf "${PATHS.appConfig}/$app"
say "removed, with its proxy route"
${keptVolumesLine(spec.app)}`;
}
