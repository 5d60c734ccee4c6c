import { parseDigestRef } from "../registry/client";
import { EXIT_NOT_IN_REGISTRY } from "../registry/deployerFetch";
import { deployerStages, receiveScriptVariable } from "./deployerStages";
import { packFunction } from "./pack";
import { PATHS, shQuote } from "./prelude";
import { writeRegistryModules } from "./registryScripts";
import { cleanupScript, receiveScript, tagScript } from "./stages";
import { deployerSession, HOST_SCRIPT_WORDS, onHost, sshHosts, SshTarget } from "./ssh";

export interface DeliveryHost {
  /** Name used in every message about the host. */
  readonly hostName: string;
  readonly target: SshTarget;
}

export interface TarballDeliveryArgs {
  readonly app: string;
  /** Tag the image carries on the hosts, derived from its digest (see hostTagOf). */
  readonly hostTag: string;
  /**
   * Digest-pinned reference. In the stack's registry, the deployer fetches from there only the blobs some
   * host lacks; otherwise (or when the registry has no such manifest) it saves the image from its own
   * engine, pulled first when it is not there.
   */
  readonly imageRef: string;
  /** The hosts' platform, the image of it an index names. Default: `linux/amd64`. */
  readonly platform?: string;
  /** Where it goes; with more than one, hosts that lack the same layers share one stream through relays. */
  readonly hosts: readonly DeliveryHost[];
  /** The stack's registry, with the token on stdin (if one came) for it. */
  readonly registry: { readonly server: string; readonly username: string; readonly insecure?: boolean };
  /** Hosts worked on at once, and the longest relay chain (1: no relays). Default: 8. */
  readonly parallelism?: number;
  /**
   * When set (a fan-out ahead of per-host deliveries), a host that fails is reported and left to its own
   * delivery, which tries again directly and fails with its own line. Default: false, a failure ends the
   * script with `hcloud-deploy: <app> on <host>: <cause>` as its last line.
   */
  readonly leaveFailuresToHosts?: boolean;
  /**
   * Read the image's manifest from the registry while the hosts are asked, rather than after they said
   * they lack it. Worth it unless the hosts most likely have the image (after a fan-out). Default: true.
   */
  readonly readAhead?: boolean;
}

export const DEFAULT_PARALLELISM = 8;

/** Whether the deployer fetches `imageRef` from the stack's registry rather than saving it from its engine. */
export function fetchesFromRegistry(args: Pick<TarballDeliveryArgs, "imageRef" | "registry">): boolean {
  return parseDigestRef(args.imageRef)?.server === args.registry.server;
}

/**
 * The deployer's side of a tarball delivery (bash). Stdin: the OpenSSH private key, then optionally one
 * line with a registry pull token. Asks every host first (one round trip over one connection), while the
 * image's manifest is read from the registry: a host that has the image costs nothing more. The others
 * get only the layers they lack: for an image in the stack's registry, the deployer fetches just those
 * blobs (verified, through its blob cache; no Docker engine needed), else it saves them from its engine.
 * Each set of missing layers is packed once and streamed once from the deployer through a chain
 * of hosts that store and pass it on; every host checks the deployer's checksum before it loads. A
 * broken relay falls back to a direct stream, an engine that refuses a partial archive to the full one.
 */
export function tarballDeliveryScript(args: TarballDeliveryArgs): string {
  const image = { app: args.app, hostTag: args.hostTag };
  const names = args.hosts.map((h) => h.hostName);
  return `set -euo pipefail
app=${shQuote(args.app)} ref=${shQuote(args.imageRef)} host_tag=${shQuote(args.hostTag)}
parallelism=${args.parallelism ?? DEFAULT_PARALLELISM} leave_failures=${args.leaveFailuresToHosts ? 1 : 0}
ctl_root=${PATHS.control}
host_name=(${names.map(shQuote).join(" ")})
say() { printf 'hcloud-deploy: %s on %s: %s\\n' "$app" ${shQuote(names.join(", "))} "$*"; }
say_at() { local i=$1; shift; printf 'hcloud-deploy: %s on %s: %s\\n' "$app" "\${host_name[i]}" "$*"; }
fail() { say "$*" >&2; exit 1; }
${deployerSession()}${sshHosts(args.hosts.map((h) => h.target))}${deployerStages(image)}${packFunction()}${receiveScriptVariable(receiveScript(args.app))}
delivery=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \\n')
declare -A attempt=() upstream=() downstream=() pending=()
declare -A tries=()
# On every exit: hosts with files or a relay key of an attempt that did not reach its load stage.
${HOST_SCRIPT_WORDS}
cleanup_hook() {
  local i
  local -a pids=()
  for i in "\${!pending[@]}"; do
    rsh "$i" ${onHost(cleanupScript(image))} "\${pending[$i]}" > /dev/null 2>&1 &
    pids+=($!)
  done
  [ "\${#pids[@]}" -eq 0 ] || wait "\${pids[@]}" 2> /dev/null || true
}
# A host that cannot be delivered to: its own delivery fails with one line, or gets its turn (fan-out).
host_failed() {
  if [ "$leave_failures" = 0 ]; then say_at "$1" "$2" >&2; exit 1; fi
  say_at "$1" "$2; its own delivery tries again directly"
}
# After the key, stdin may hold the registry's read-only token (its first non-empty line).
token=""
while IFS= read -r token && [ -z "$token" ]; do :; done
relay=""
[ "\${#host_name[@]}" -gt 1 ] && [ "$parallelism" -gt 1 ] && relay=relay

${planStart(args)}
# Stage: ask every host what it has (and let it make a relay key for this delivery).
hosts=("\${!host_name[@]}")
run_jobs probe_host "\${hosts[@]}"
need=()
for i in "\${hosts[@]}"; do
  if [ -s "$work/problem.$i" ]; then host_failed "$i" "$(cat "$work/problem.$i")"; continue; fi
  # A relay key made for this delivery goes at the end unless a load stage takes it away first.
  ! grep -q '^relaykey ' "$work/probe.$i" || pending[$i]=$delivery
  id=$(awk '$1 == "tag" { print $2 }' "$work/probe.$i")
  if [ -n "$id" ]; then say_at "$i" "$id already on the host; nothing transferred"; else need+=("$i"); fi
done
[ "\${#need[@]}" -gt 0 ] || exit 0

${imageSourceStage(args)}
# Stage: per host, what to send — nothing but a tag, the layers after the ones it shares, or all.
declare -A shared=()
tag_only=()
for i in "\${need[@]}"; do
  if grep -q "^image $image_id" "$work/probe.$i"; then tag_only+=("$i"); continue; fi
  shared[$i]=$(shared_layers "$work/probe.$i")
  if [ "\${shared[$i]}" -gt 0 ] && grep -qx 'store containerd' "$work/probe.$i"; then
    say_at "$i" "its engine keeps images in containerd, which loads no partial archives: sending the whole image"
    shared[$i]=0
  fi
done
${HOST_SCRIPT_WORDS}
tag_host() {
  if rsh "$1" ${onHost(tagScript(image))} "$image_id" > /dev/null 2> "$work/err.$1"; then : > "$work/load.$1"; else echo 1 > "$work/load.$1"; fi
}
run_jobs tag_host "\${tag_only[@]}"
for i in "\${tag_only[@]}"; do
  if [ -s "$work/load.$i" ]; then host_failed "$i" "tagging failed: $(cause_of "$work/err.$i" "ssh ended")"; continue; fi
  say_at "$i" "$image_id was on the host under another name; tagged $host_tag, nothing transferred"
done

${packSourceFunctions()}
${deliverLoop()}`;
}

/**
 * For an image in the stack's registry: `plan` reads its manifest and config in the background (waited
 * for in imageSourceStage), at once unless `readAhead` is off.
 */
function planStart(args: TarballDeliveryArgs): string {
  const { server, username } = args.registry;
  const names = args.hosts.map((h) => h.hostName).join(", ");
  return `from_registry=${fetchesFromRegistry(args) ? 1 : 0} read_ahead=${args.readAhead === false ? 0 : 1} code=0 plan_pid=""
plan() {
${writeRegistryModules()}  export HCLOUD_DEPLOY_REGISTRY=${shQuote(server)} HCLOUD_DEPLOY_REGISTRY_USER=${shQuote(username)}
  export HCLOUD_DEPLOY_REGISTRY_INSECURE=${args.registry.insecure ? 1 : 0} HCLOUD_DEPLOY_SAY=${shQuote(`hcloud-deploy: ${args.app} on ${names}: `)}
  # Its stdin given explicitly (a background job's is /dev/null otherwise): the token.
  node "$work/registry/deployerFetch.js" plan "$ref" ${shQuote(args.platform ?? "linux/amd64")} \\
    < <(printf '%s\\n' "$token") > "$work/plan" 2> "$work/plan.err" &
  plan_pid=$!
}
[ "$from_registry" = 0 ] || [ "$read_ahead" = 0 ] || plan
`;
}

/**
 * Where the image's layers come from: the stack's registry (its manifest and config first, the blobs later
 * per set of missing layers), or the deployer's engine. Leaves $image_id and $diff_ids.
 */
function imageSourceStage(args: TarballDeliveryArgs): string {
  const { server, username } = args.registry;
  return `# Stage: the image's manifest and config, from the registry (read while the hosts are asked) or the deployer's engine.
if [ "$from_registry" = 1 ]; then
  [ -n "$plan_pid" ] || plan
  wait "$plan_pid" || code=$?
  if [ "$code" = ${EXIT_NOT_IN_REGISTRY} ] && docker image inspect "$ref" > /dev/null 2>&1; then
    say "$ref is not in ${server}: sending the deployer's own copy"
    from_registry=0
  elif [ "$code" != 0 ]; then
    fail "$(cause_of "$work/plan.err" "reading $ref from ${server} failed")"
  fi
fi
if [ "$from_registry" = 1 ]; then
  image_id=$(awk '$1 == "image" { print $2 }' "$work/plan")
  read -ra diff_ids <<< "$(awk '$1 == "layers" { $1 = ""; print }' "$work/plan")"
  manifest_ref=\${ref%@*}@$(awk '$1 == "manifest" { print $2 }' "$work/plan")
else
  if ! docker image inspect "$ref" > /dev/null 2>&1; then
    say "pulling $ref to the deployer"
    export DOCKER_CONFIG="$work/docker"
    mkdir -p "$DOCKER_CONFIG"
    if [ -n "$token" ]; then
      printf '%s' "$token" | docker login --username ${shQuote(username)} --password-stdin \\
        ${shQuote(server)} > /dev/null 2> "$work/pull.err" ||
        fail "cannot log in to ${server} on the deployer: $(cause_of "$work/pull.err" "docker login failed")"
    fi
    bg docker pull -q "$ref" > /dev/null 2> "$work/pull.err" ||
      fail "cannot pull $ref to the deployer: $(cause_of "$work/pull.err" "docker pull failed")"
  fi
  token=""
  image_id=$(docker image inspect --format '{{.Id}}' "$ref")
  read -ra diff_ids <<< "$(docker image inspect --format '{{range .RootFS.Layers}}{{.}} {{end}}' "$ref")"
fi
`;
}

/**
 * start_pack <k> / finish_pack / pack_source <k>: the archive without the first k layers. From the
 * registry: fetched into $work/stage.<k> (verified blobs, as stored) before any of it is sent; from the
 * engine: \`docker save\`, unpacked once for partial archives. Blobs from the registry are compressed
 * already, so the stream's zstd only frames them.
 */
function packSourceFunctions(): string {
  return `pack_pid=""
pack_what=""
zstd_level=-3
[ "$from_registry" = 0 ] || zstd_level=-1
start_pack() {
  if [ "$from_registry" = 1 ]; then
    [ ! -d "$work/stage.$1" ] || return 0
    mkdir "$work/stage.$1"
    node "$work/registry/deployerFetch.js" fetch "$manifest_ref" "$1" "$work/stage.$1" \\
      < <(printf '%s\\n' "$token") 2> "$work/pack.err" &
    pack_what="fetching the image from $HCLOUD_DEPLOY_REGISTRY failed"
  else
    [ "$1" != 0 ] && [ ! -d "$work/save" ] || return 0
    mkdir "$work/save"
    bash -o pipefail -c 'docker save "$1" | tar -x -C "$2"' save "$ref" "$work/save" 2> "$work/pack.err" &
    pack_what="saving the image on the deployer failed"
  fi
  pack_pid=$!
}
finish_pack() {
  [ -n "$pack_pid" ] || return 0
  wait "$pack_pid" || fail "$pack_what: $(cause_of "$work/pack.err" "it ended with $?")"
  pack_pid=""
}
pack_source() {
  if [ "$from_registry" = 1 ]; then tar -c -C "$work/stage.$1" manifest.json blobs
  elif [ "$1" = 0 ]; then docker save "$ref"
  else pack_layers "$work/save" "$1"
  fi
}
`;
}

/** Sends each set of hosts that share k layers its pack: chains of up to $parallelism, then retries. */
function deliverLoop(): string {
  return `# deliver <k> <host>…: one chain, armed, fed, and loaded on every host.
deliver() {
  local k=$1 j i label
  shift
  local -a chain=("$@") armed=()
  upstream=() downstream=()
  for j in "\${!chain[@]}"; do
    i=\${chain[j]}
    tries[$i]=$((\${tries[$i]:-0} + 1))
    # The first try uses the token the probe made the relay key under.
    attempt[$i]=$delivery
    [ "\${tries[$i]}" -eq 1 ] || attempt[$i]=$delivery-\${tries[$i]}
    pending[$i]=\${attempt[$i]}
    [ "$j" -eq 0 ] || upstream[$i]=\${chain[j-1]}
    [ "$((j + 1))" -ge "\${#chain[@]}" ] || downstream[$i]=\${chain[j+1]}
  done
  # The deployer gets the image ready while the hosts do.
  start_pack "$k"
  run_jobs arm_host "\${chain[@]}"
  for i in "\${chain[@]}"; do
    if [ -s "$work/problem.$i" ]; then host_failed "$i" "$(cat "$work/problem.$i")"; else armed+=("$i"); fi
  done
  if [ "\${#armed[@]}" -ne "\${#chain[@]}" ]; then
    [ "\${#armed[@]}" -eq 0 ] || deliver "$k" "\${armed[@]}"
    return
  fi
  run_jobs link_host "\${chain[@]:0:\${#chain[@]}-1}"
  label=\${host_name[chain[0]]}
  for i in "\${chain[@]:1}"; do label+=" → \${host_name[i]}"; done
  finish_pack
  kind=full
  [ "$k" -eq 0 ] || kind=partial
  if [ ! -e "$work/sum.$k" ]; then
    if [ "$k" -eq 0 ]; then say "sending $ref (\${#diff_ids[@]} layers) to $label"; else say "sending layers $((k + 1))-\${#diff_ids[@]} of \${#diff_ids[@]} of $ref (the hosts hold the others) to $label"; fi
  fi
  stream "$k" "\${chain[0]}" "$label"
  run_jobs load_host "\${chain[@]}"
  local mib
  mib=$(awk -v b="$(stat -c %s "$work/pack.$k.zst")" 'BEGIN { printf "%.1f", b / 1048576 }')
  for i in "\${chain[@]}"; do
    unset "pending[$i]"
    case $(cat "$work/load.$i" 2> /dev/null) in
      0) say_at "$i" "loaded $image_id as $host_tag ($mib MiB compressed\${upstream[$i]+, relayed by \${host_name[upstream[$i]]}}) in \${SECONDS}s" ;;
      "$partial_refused") refused+=("$i") ;;
      "$stream_broken") if [ -n "\${upstream[$i]:-}" ]; then broken+=("$i"); else host_failed "$i" "$(cause_of "$work/err.$i" "the stream broke off")"; fi ;;
      *) host_failed "$i" "$(cause_of "$work/err.$i" "the connection to the host broke off")" ;;
    esac
  done
}
for k in $(for i in "\${!shared[@]}"; do echo "\${shared[$i]}"; done | sort -nu); do
  group=()
  for i in "\${need[@]}"; do [ "\${shared[$i]:-}" != "$k" ] || group+=("$i"); done
  refused=() broken=()
  for ((start = 0; start < \${#group[@]}; start += parallelism)); do deliver "$k" "\${group[@]:start:parallelism}"; done
  for i in "\${broken[@]}"; do
    say_at "$i" "the relay did not bring the whole stream: sending it directly"
    deliver "$k" "$i"
  done
  for i in "\${refused[@]}"; do
    say_at "$i" "its engine refused an archive without the layers it holds: sending the whole image"
    deliver 0 "$i"
  done
done
`;
}
