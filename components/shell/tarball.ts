import {
  FAIL_FUNCTION,
  HostImage,
  messagePrefix,
  PATHS,
  SHARED_IMAGE_LOCK,
  sayFunction,
  shQuote,
} from "./prelude";
import { deployerSsh, onHost, SshTarget } from "./ssh";

/**
 * Tarball delivery, as separable stages: probe (does the host have it?), pack (docker save), compress
 * (zstd, all cores), stream (ssh, with checksum and progress), verify, load and confirm on the host.
 * Each host-side stage is its own script so tests can drive them one by one, and so a later step can
 * put a "which layers does the host lack" stage between probe and pack.
 */

function say(image: HostImage): string {
  return sayFunction(shQuote(image.app), shQuote(image.hostName));
}

/** Host stage: prints the ID of the image under the host tag, or nothing when the host lacks it. */
export function probeScript(image: HostImage): string {
  return `docker image inspect --format '{{.Id}}' ${shQuote(image.hostTag)} 2>/dev/null || true`;
}

/** Host stage: stores the compressed stream from stdin at $1; never loads anything. */
export function receiveScript(): string {
  return `set -eu
umask 077
mkdir -p ${PATHS.staging}
# Leftovers of transfers that were cut off long ago.
find ${PATHS.staging} -name '*.partial' -mmin +120 -delete 2>/dev/null || true
cat > "$1"
`;
}

/**
 * Host stage: checks the stored stream ($1) against the deployer's checksum ($2) before anything is
 * loaded, loads it, confirms the image ID is the expected one ($3) and tags it. The file goes in any case.
 */
export function verifyAndLoadScript(image: HostImage): string {
  return `set -eu
${say(image)}
file=$1 expected_sum=$2 expected_id=$3
trap 'rm -f "$file"' EXIT
actual_sum=$(sha256sum "$file" | cut -d' ' -f1)
if [ "$actual_sum" != "$expected_sum" ]; then
  say "checksum mismatch (expected $expected_sum, got $actual_sum): the transfer was cut off or corrupted; nothing was loaded" >&2
  exit 1
fi
${SHARED_IMAGE_LOCK}
if ! loaded=$(zstd -dcq "$file" | docker load 2>&1); then
  say "docker load failed: $loaded" >&2
  exit 1
fi
actual_id=$(docker image inspect --format '{{.Id}}' "$expected_id" 2>/dev/null || true)
if [ "$actual_id" != "$expected_id" ]; then
  say "loaded image is not $expected_id (docker load said: $loaded)" >&2
  exit 1
fi
docker tag "$expected_id" ${shQuote(image.hostTag)}
`;
}

export interface TarballDeliveryArgs extends HostImage {
  readonly target: SshTarget;
  /** Digest-pinned reference the deployer saves (pulled first when it is not local). */
  readonly imageRef: string;
  /** Registry to log in to when the deployer has to pull and a token came on stdin. */
  readonly registry: { readonly server: string; readonly username: string };
}

/**
 * The deployer's side of a tarball delivery (bash). Stdin: the OpenSSH private key, then optionally one
 * line with a registry pull token. Secrets never reach argv, the environment of other processes, or logs.
 */
export function tarballDeliveryScript(args: TarballDeliveryArgs): string {
  const { registry } = args;
  return `set -euo pipefail
${say(args)}
${FAIL_FUNCTION}
${deployerSsh(args.target)}
ref=${shQuote(args.imageRef)}
partial=""
cleanup_hook() {
  if [ -n "$partial" ]; then remote ${onHost('rm -f "$1"')} "$partial" >/dev/null 2>&1; fi
}
# After the key, stdin may hold one line: a registry token, for pulling to the deployer.
token=""
IFS= read -r token || true
check_host

# Stage: the image must be on the deployer.
if ! docker image inspect "$ref" >/dev/null 2>&1; then
  say "pulling $ref to the deployer"
  export DOCKER_CONFIG="$work/docker"
  mkdir -p "$DOCKER_CONFIG"
  if [ -n "$token" ]; then
    printf '%s' "$token" | docker login --username ${shQuote(registry.username)} --password-stdin ${shQuote(registry.server)} >/dev/null
  fi
  docker pull -q "$ref" >/dev/null
fi
image_id=$(docker image inspect --format '{{.Id}}' "$ref")
image_size=$(docker image inspect --format '{{.Size}}' "$ref")

# Stage: probe. The same image under the same tag means there is nothing to send.
if [ "$(remote ${onHost(probeScript(args))})" = "$image_id" ]; then
  say "$image_id already on the host; nothing transferred"
  exit 0
fi

# Stages: pack, compress, stream. The checksum is taken from the very bytes that go on the wire.
say "sending $ref ($((image_size / 1048576)) MiB unpacked)"
partial="${PATHS.staging}/${args.app}.\${image_id#sha256:}.$$.partial"
mkfifo "$work/tap" "$work/progress"
sha256sum < "$work/tap" > "$work/sum" &
sum_pid=$!
awk -v RS='[\\r\\n]' -v prefix="${messagePrefix(args.app, args.hostName)}" '
  / copied, / { t = $(NF-3) + 0; bytes = $1; rate = $(NF-1) " " $NF
                if (t >= due) { printf "%s%.1f MiB sent, %s\\n", prefix, bytes / 1048576, rate; fflush(); due = t + 5 } }
  END { if (bytes != "") printf "%ssent %.1f MiB compressed in %ss, %s\\n", prefix, bytes / 1048576, t, rate }
' < "$work/progress" &
meter_pid=$!
docker save "$ref" \\
  | zstd -T0 -3 -q -c \\
  | tee "$work/tap" \\
  | dd bs=1M iflag=fullblock status=progress 2> "$work/progress" \\
  | remote ${onHost(receiveScript())} "$partial"
wait "$sum_pid" "$meter_pid"

# Stages: verify, load, confirm (on the host; it removes the stream file itself).
remote ${onHost(verifyAndLoadScript(args))} "$partial" "$(cut -d' ' -f1 "$work/sum")" "$image_id"
partial=""
say "loaded $image_id as ${args.hostTag} in \${SECONDS}s"
`;
}
