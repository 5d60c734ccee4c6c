import { IMAGE_DISK_FULL_FUNCTION, PATHS, SHARED_IMAGE_LOCK, sayFunction, shQuote } from "./prelude";
import { CONNECT_TIMEOUT_SECONDS } from "./ssh";

/**
 * The host's side of a tarball delivery, one sh script per stage; the deployer runs each with `rsh`.
 * Every delivery has a token: its stream is STAGING/<app>.<token>.zst (on disk), everything else lives in
 * CONTROL/<app>.<token>/ (tmpfs). One delivery per app and host runs at a time, so whatever of the same
 * app a probe finds is left over from an interrupted one and goes (a stream still being written is
 * locked by its receiver and stays).
 */

/** What the host stages know of the image; their messages name the host by its hostname. */
export interface StageImage {
  readonly app: string;
  /** Tag the image carries on the host, derived from its digest (see hostTagOf). */
  readonly hostTag: string;
}

/** Exit status of the load stage when the engine refused an archive that omits layers it holds. */
export const PARTIAL_REFUSED = 3;
/** Exit status of the load stage when the stream is incomplete or corrupted (send it again, directly). */
export const STREAM_BROKEN = 4;
/** How long a relay key stays valid even if its delivery never removes it. */
export const RELAY_KEY_HOURS = 2;

function common(image: StageImage): string {
  const keys = PATHS.relayKeys;
  return `set -eu
${sayFunction(shQuote(image.app), '"$(hostname)"')}
app=${shQuote(image.app)}
umask 077
mkdir -p ${PATHS.staging} ${PATHS.control}
# Adds (add <line>) or removes (drop <app>.<token> or <app>.) relay keys, one editor at a time.
relay_keys() {
  exec 8>${PATHS.control}/keys.lock
  flock 8
  if [ "$1" = add ]; then
    printf '%s\\n' "$2" >> ${keys}
  elif [ -e ${keys} ]; then
    grep -vF "hcloud-deploy-relay:$2" ${keys} > ${keys}.new || true
    if [ -s ${keys}.new ]; then mv ${keys}.new ${keys}; else rm -f ${keys}.new ${keys}; fi
  fi
  exec 8>&-
}
${CLOSE_RELAY}
`;
}

/**
 * Probe ($1 token, $2 "relay" to make a relay key): removes this app's leftovers, then prints what the
 * deployer decides with: `tag <id>` when the host tag exists (and nothing else), or
 * `store containerd|graphdriver`, one `image <id> <diff IDs…>` line per image, and, when asked,
 * `relaykey <type> <base64>`.
 */
export function probeScript(image: StageImage): string {
  return `${common(image)}token=$1
for d in ${PATHS.control}/"$app".*; do
  [ -d "$d" ] || continue
  f=${PATHS.staging}/\${d##*/}.zst
  if [ -e "$f" ] && ! ( flock -n 9 ) 9<"$f"; then continue; fi
  close_relay "$d"
  rm -rf "$d"
done
# shellcheck disable=SC2094 # the descriptor only holds the file's lock while it is removed
for f in ${PATHS.staging}/"$app".*; do
  [ -e "$f" ] || continue
  ( flock -n 9 && rm -f "$f" ) 9<"$f" 2>/dev/null || true
done
# Whatever any delivery left more than two hours ago.
find ${PATHS.staging} -maxdepth 1 -type f -mmin +120 -delete 2>/dev/null || true
relay_keys drop "$app."
id=$(docker image inspect --format '{{.Id}}' ${shQuote(image.hostTag)} 2>/dev/null || true)
if [ -n "$id" ]; then echo "tag $id"; exit 0; fi
case $(docker info --format '{{json .DriverStatus}}' 2>/dev/null) in
  *io.containerd.snapshotter*) echo "store containerd" ;;
  *) echo "store graphdriver" ;;
esac
docker image ls -aq --no-trunc | sort -u |
  xargs -r docker image inspect --format 'image {{.Id}}{{range .RootFS.Layers}} {{.}}{{end}}' 2>/dev/null || true
if [ "\${2:-}" = relay ]; then
  mkdir -p ${PATHS.control}/"$app.$token"
  ssh-keygen -q -t ed25519 -N '' -C "hcloud-deploy-relay:$app.$token" -f ${PATHS.control}/"$app.$token/key"
  echo "relaykey $(cut -d' ' -f1,2 ${PATHS.control}/"$app.$token/key.pub")"
fi
`;
}

/**
 * Arm ($1 token, $2 the upstream host's address or -, $3 the next host as user@address or -, $4 its SSH
 * port): stores the receive script that comes on stdin after two lines, the upstream host's relay key
 * (empty for the chain's head, which the deployer feeds itself) and the next host's known_hosts line.
 * The upstream key may then run this receive script, from that address, and nothing else.
 */
export function armScript(image: StageImage): string {
  return `${common(image)}ctl=${PATHS.control}/"$app.$1"
mkdir -p "$ctl"
IFS= read -r upstream_key || true
IFS= read -r next_known || true
cat > "$ctl/recv"
if [ "$3" != - ]; then
  printf '%s\\n' "$next_known" > "$ctl/known_hosts"
  printf '%s %s\\n' "$3" "$4" > "$ctl/next"
fi
if [ -n "$upstream_key" ]; then
  expires=$(date -u -d '+${RELAY_KEY_HOURS} hours' +%Y%m%d%H%MZ)
  relay_keys add "restrict,command=\\"sh $ctl/recv\\",from=\\"$2\\",expiry-time=\\"$expires\\" $upstream_key hcloud-deploy-relay:$app.$1"
fi
`;
}

/** Seconds a host's relay connection outlives its last use, should its delivery never close it. */
export const RELAY_LINGER_SECONDS = 60;

// How a host reaches the next one: the delivery's own key, the pinned key, one shared connection.
const RELAY_SSH = `ssh -i "$ctl/key" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes \\
    -o UserKnownHostsFile="$ctl/known_hosts" -o GlobalKnownHostsFile=/dev/null -o ControlPath="$ctl/cm" \\
    -o ConnectTimeout=${CONNECT_TIMEOUT_SECONDS} -o ServerAliveInterval=15 -o ServerAliveCountMax=4 -o LogLevel=ERROR`;

// Closes a relay connection a control directory may hold.
const CLOSE_RELAY = `close_relay() { [ ! -S "$1/cm" ] || ssh -o ControlPath="$1/cm" -O exit relay > /dev/null 2>&1 || true; }`;

/**
 * Link ($1 token): opens the host's connection to the next host of its chain ahead of the stream, so
 * the stream passes each hop without a handshake. If it cannot, the host will not relay: the hosts after
 * it receive nothing, which their load stage reports as a broken stream (the deployer then sends directly).
 */
export function linkScript(image: StageImage): string {
  return `${common(image)}ctl=${PATHS.control}/"$app.$1"
read -r next port < "$ctl/next"
if ! ${RELAY_SSH} \\
    -o ControlMaster=yes -o ControlPersist=${RELAY_LINGER_SECONDS} -N -f -p "$port" "$next" \\
    < /dev/null > /dev/null 2> "$ctl/link.err"; then
  rm -f "$ctl/next"
  say "cannot reach the next host $next: $(tail -n 1 "$ctl/link.err")" >&2
  exit 1
fi
`;
}

/**
 * The receive script `arm` stores (run as `sh <control dir>/recv`, by the deployer for a chain's head,
 * by the upstream host's forced command for the others): stores the stream from stdin, holding a lock
 * while it does, and when the delivery named a next host passes every byte on to it as it arrives (a
 * failing next hop does not stop the local copy). A failure leaves its one-line cause for the load stage.
 */
export function receiveScript(app: string): string {
  return `set -eu
umask 077
ctl=$(dirname "$0")
data=${PATHS.staging}/"\${ctl##*/}.zst"
stored=yes
mkdir -p ${PATHS.staging}
exec 9>>"$data"
flock 9
if [ -e "$ctl/next" ]; then
  read -r next port < "$ctl/next"
  rm -f "$ctl/fifo"
  mkfifo "$ctl/fifo"
  ${RELAY_SSH} \\
    -p "$port" "$next" < "$ctl/fifo" > "$ctl/relay.log" 2>&1 &
  tee -p "$ctl/fifo" > "$data" 2> "$ctl/recv.err" || stored=no
  wait $! || echo "relay to $next failed" >> "$ctl/relay.log"
else
  cat > "$data" 2> "$ctl/recv.err" || stored=no
fi
[ "$stored" = yes ] && exit 0
if grep -q "No space left" "$ctl/recv.err"; then
  cause="disk full on the host while staging the image ($(df -Pm ${PATHS.staging} | awk 'NR == 2 { print $4 }') MiB free in ${PATHS.staging}); nothing was loaded"
else
  cause="staging the image failed: $(tail -n 1 "$ctl/recv.err")"
fi
rm -f "$data"
printf '%s\\n' "$cause" > "$ctl/recv.err"
echo "hcloud-deploy: ${app} on $(hostname): $cause" >&2
exit 1
`;
}

/**
 * Load ($1 token, $2 the deployer's checksum, $3 the image ID, $4 partial|full): first withdraws the
 * delivery's relay key, then checks the stream against the deployer's checksum before anything is
 * loaded, loads it, confirms the image ID and tags it. Stream and control files go in any case. Exits
 * PARTIAL_REFUSED or STREAM_BROKEN for the deployer's fallbacks, 1 with a one-line cause otherwise.
 */
export function loadScript(image: StageImage): string {
  return `${common(image)}${IMAGE_DISK_FULL_FUNCTION}
ctl=${PATHS.control}/"$app.$1" data=${PATHS.staging}/"$app.$1.zst"
trap 'rm -rf "$ctl" "$data"' EXIT
relay_keys drop "$app.$1"
close_relay "$ctl"
cause=$(cat "$ctl/recv.err" 2>/dev/null || true)
case $cause in "disk full"*) say "$cause" >&2; exit 1 ;; esac
if [ ! -s "$data" ]; then say "nothing arrived\${cause:+ ($cause)}" >&2; exit ${STREAM_BROKEN}; fi
actual=$(sha256sum "$data" | cut -c1-64)
if [ "$actual" != "$2" ]; then
  say "checksum mismatch (expected $2, got $actual): the transfer was cut off or corrupted; nothing was loaded" >&2
  exit ${STREAM_BROKEN}
fi
# A prune on the host waits while the image is loaded and tagged.
${SHARED_IMAGE_LOCK}
if ! loaded=$(zstd -dcq "$data" | docker load 2>&1); then
  loaded=$(printf '%s' "$loaded" | tr '\\n' ' ' | cut -c1-300)
  case $loaded in
    *"no space left on device"*) image_disk_full loading loaded; exit 1 ;;
  esac
  if [ "$4" = partial ]; then say "the engine refused an archive without the layers it holds: $loaded" >&2; exit ${PARTIAL_REFUSED}; fi
  say "docker load failed: $loaded" >&2
  exit 1
fi
if [ "$(docker image inspect --format '{{.Id}}' "$3" 2>/dev/null || true)" != "$3" ]; then
  say "loaded image is not $3 (docker load said: $loaded)" >&2
  exit 1
fi
docker tag "$3" ${shQuote(image.hostTag)}
`;
}

/** Tag ($1 image ID): the host holds the image under another name; give it the host tag. */
export function tagScript(image: StageImage): string {
  return `set -eu\n${SHARED_IMAGE_LOCK}\ndocker tag "$1" ${shQuote(image.hostTag)}\n`;
}

/** Clean-up ($1 token) after an interrupted delivery: its relay key, stream and control files. */
export function cleanupScript(image: StageImage): string {
  return `${common(image)}relay_keys drop "$app.$1"
close_relay ${PATHS.control}/"$app.$1"
rm -rf ${PATHS.control}/"$app.$1" ${PATHS.staging}/"$app.$1.zst"
`;
}
