import { appProxyTemplate, HTTPS_SERVER, UPSTREAMS } from "./caddy";
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
import { containerFunctions, ServiceSpec, settingsHash } from "./service";

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
  const check = `GET ${spec.health.path} on port ${spec.port}`;
  const [before, after] = appProxyTemplate(spec).split(UPSTREAMS);
  const where = spec.domains.length === 0 ? `port ${spec.hostPort}` : `https://${spec.domains[0]}/`;
  const runArgs = [
    `--network ${APP_NETWORK.name}`,
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
  ].join(" ");
  return `set -eu
app=${shQuote(spec.app)} image=${shQuote(spec.image)} port=${spec.port}
${sayFunction('"$app"', shQuote(spec.hostName))}
${FAIL_FUNCTION}
${ADMIN_FUNCTIONS}
${containerFunctions(spec)}
${proxyFunctions(spec, before, after)}
exec 8>${PATHS.hostLock}

# A run cut off in the middle: the new container took over if the proxy already sends new requests to it.
if docker inspect "$app-next" >/dev/null 2>&1; then
  if [ "$(first_upstream)" = "$(dial_of "$app-next")" ]; then
    docker rm -f "$app" >/dev/null 2>&1 || true
    docker rename "$app-next" "$app"
  else
    docker rm -f "$app-next" >/dev/null
  fi
fi
# What the previous service script (before the proxy) may have left.
docker rm -f "$app-candidate" >/dev/null 2>&1 || true
if docker inspect "$app-previous" >/dev/null 2>&1; then
  if docker inspect "$app" >/dev/null 2>&1; then
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

current=$(docker inspect --format '{{index .Config.Labels "${LABELS.revision}"}}/{{index .Config.Labels "${LABELS.instance}"}}' "$app" 2>/dev/null || true)
if [ "$current" = "$revision/"${shQuote(spec.instance)} ] && running "$app" && [ -n "$(dial_of "$app")" ]; then
  if [ "$(current_config)" = "$(config_for "$(dial_of "$app")")" ]; then
    finish "revision $revision already running"
  else
    locked apply_config "$(dial_of "$app")" || fail "the proxy refused the route: $out"
    finish "revision $revision already running; its proxy route was updated"
  fi
  exit 0
fi

# Docker 20.10's embedded resolver forwards to IPv4 servers only, so on an IPv6-only host it answers
# nothing: the app gets the host's IPv6 resolvers (DNS64 ones included) directly.
servers=$(awk '$1 == "nameserver" && $2 ~ /:/ && $2 != "::1" { print "nameserver " $2 }' /etc/resolv.conf 2>/dev/null || true)
dns_mount=""
if [ -n "$servers" ]; then
  { printf '%s\n' "$servers"; grep -E '^(search|options) ' /etc/resolv.conf || true; } >${PATHS.appConfig}/resolv.conf ||
    fail "cannot write ${PATHS.appConfig}/resolv.conf (disk full?)"
  chmod 0644 ${PATHS.appConfig}/resolv.conf
  # One word, so it stays one argument when quoted.
  dns_mount="--mount=type=bind,source=${PATHS.appConfig}/resolv.conf,target=/etc/resolv.conf,readonly"
fi

# The delivery put it here; a hand or a prune may have taken it since.
docker image inspect "$image" >/dev/null 2>&1 ||
  fail "image $image is not on the host (removed since its delivery? deploy again to deliver it); the previous version keeps serving"
say "starting $revision from $image"
flock 8
ip=$(free_address)
if ! out=$(docker run -d --name "$app-next" --ip "$ip" ${runArgs} "$image" 2>&1); then
  docker rm -f "$app-next" >/dev/null 2>&1 || true
  rm -f "$env_file"
  fail "docker run failed: $(explain "$out"); the previous version keeps serving"
fi
flock -u 8
new=$ip:$port
if ! healthy "http://$new${spec.health.path}" ${spec.health.timeoutSeconds} "$app-next"; then
  docker logs --tail 20 "$app-next" >&2 2>&1 || true
  docker rm -f "$app-next" >/dev/null
  rm -f "$env_file"
  fail "health check ${check} did not pass within ${spec.health.timeoutSeconds}s ($last); the previous version keeps serving"
fi

old=$(dial_of "$app" 2>/dev/null || true)
legacy=false
if [ -z "$old" ] && docker inspect "$app" >/dev/null 2>&1; then
  # A container from before the proxy publishes the port itself and must let go of it first.
  say "the running container publishes its port itself: a short gap while the proxy takes the port over"
  legacy=true
  docker stop --time 10 "$app" >/dev/null 2>&1 || true
fi
# Both upstreams: new requests go to the new version, the old one keeps what it has in flight.
if ! locked apply_config "$new" \${old:+"$old"}; then
  docker rm -f "$app-next" >/dev/null 2>&1 || true
  if $legacy; then docker start "$app" >/dev/null 2>&1 || true; fi
  rm -f "$env_file"
  fail "the proxy refused the route: $out; the previous version keeps serving"
fi
${spec.domains.length === 0 ? throughProxyCheck(spec) : ""}
if [ -n "$old" ]; then
  drain "$old" ${spec.drainSeconds}
  locked apply_config "$new" || fail "the proxy refused the route: $out"
fi
if docker inspect "$app" >/dev/null 2>&1; then
  docker stop --time 10 "$app" >/dev/null 2>&1 || true
  docker rm -f "$app" >/dev/null
fi
docker rename "$app-next" "$app"
find "$dir" -name '*.env' ! -name "$revision.env" -delete
finish "revision $revision serving on ${where} through the proxy"
`;
}

/** The first request through the proxy; a failure puts the old version back in front. */
function throughProxyCheck(spec: ServiceSpec): string {
  return `if ! healthy "http://127.0.0.1:${spec.hostPort}${spec.health.path}" 15 "$app-next"; then
  if [ -n "$old" ]; then locked apply_config "$old" || true; else locked remove_config || true; fi
  docker rm -f "$app-next" >/dev/null 2>&1 || true
  if $legacy; then docker start "$app" >/dev/null 2>&1 || true; fi
  rm -f "$env_file"
  fail "health check ${`GET ${spec.health.path}`} through the proxy on port ${spec.hostPort} failed ($last); the previous version keeps serving"
fi`;
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

/**
 * Shell functions over the app's object in the proxy's config: what is loaded, what should be for some
 * upstream addresses, applying and removing it, and the in-flight count the drain waits on.
 */
function proxyFunctions(spec: ServiceSpec, before: string, after: string): string {
  const { names, https, own } = configPaths(spec.app);
  const plain = spec.domains.length === 0;
  return `# upstreams DIAL…: the JSON list of upstreams, first one first.
upstreams() {
  list=""
  for dial; do list="$list\${list:+,}{\\"dial\\":\\"$dial\\"}"; done
  printf '[%s]' "$list"
}
config_for() { printf '%s%s%s' ${shQuote(before)} "$(upstreams "$@")" ${shQuote(after)}; }
first_upstream() { current_config | sed -n 's/.*"upstreams":\\[{"dial":"\\([^"]*\\)".*/\\1/p'; }
current_config() { admin GET ${plain ? own : `/id/${names.route}`} 2>/dev/null || true; }
# apply_config DIAL…: puts the app's object in place with these upstreams; sets $out on failure.
apply_config() {
  want=$(config_for "$@")
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
${removalFunctions(spec.app)}
in_flight() {
  admin GET /reverse_proxy/upstreams 2>/dev/null | grep -o "\\"address\\":\\"$1\\",\\"num_requests\\":[0-9]*" | sed 's/.*://' || true
}
# drain DIAL SECONDS: waits until the old upstream has no request in flight, at most SECONDS.
drain() {
  deadline=$(( $(date +%s) + $2 ))
  while n=$(in_flight "$1") && [ "\${n:-0}" -gt 0 ]; do
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
exec 8>${PATHS.hostLock}
claims=${PATHS.appConfig}/$app/claims.${spec.instance}
instance=$(docker inspect --format '{{index .Config.Labels "${LABELS.instance}"}}' "$app" 2>/dev/null || true)
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
docker rm -f "$app" "$app-next" >/dev/null 2>&1 || true
rm -rf "${PATHS.appConfig}/$app"
say "removed, with its proxy route"
`;
}
