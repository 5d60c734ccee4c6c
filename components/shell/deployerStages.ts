import { shQuote } from "./prelude";
import {
  armScript,
  linkScript,
  loadScript,
  probeScript,
  PARTIAL_REFUSED,
  StageImage,
  STREAM_BROKEN,
} from "./stages";
import { HOST_SCRIPT_WORDS, onHost } from "./ssh";

/**
 * Bash functions of the deployer's side of a tarball delivery to several hosts (see tarball.ts). They
 * need the SSH prelude's `connect`/`rsh`, `host_*` arrays, `$work`, `$parallelism`, `$delivery`, `$app`,
 * `$zstd_level` and `pack_source` (see tarball.ts).
 * Each per-host step runs as a background job that leaves its result in $work files, so that a signal
 * to the script interrupts `wait` at once (a foreground pipeline would finish first).
 */
export function deployerStages(image: StageImage): string {
  return `# The last line of a host's stderr, without the "hcloud-deploy: <app> on <host>: " it may start with.
cause_of() {
  local line
  line=$(tr -d '\\r' < "$1" 2>/dev/null | grep -v '^$' | tail -n 1) || true
  line=\${line#hcloud-deploy: * on *: }
  printf '%s\\n' "\${line:-$2}"
}
# run_jobs <function> <host>…: at most $parallelism at once; returns when all have finished.
run_jobs() {
  local fn=$1 i p finished
  shift
  local -a pids=() left
  for i in "$@"; do
    while [ "\${#pids[@]}" -ge "$parallelism" ]; do
      finished=""
      wait -n -p finished "\${pids[@]}" || true
      left=()
      for p in "\${pids[@]}"; do [ "$p" = "$finished" ] || left+=("$p"); done
      pids=("\${left[@]}")
    done
    "$fn" "$i" &
    pids+=($!)
  done
  [ "\${#pids[@]}" -eq 0 ] || wait "\${pids[@]}" || true
}
# Runs a command in the background and waits for it, so that signals are not held up by it.
bg() { "$@" & wait $!; }
${HOST_SCRIPT_WORDS}
probe_host() {
  local i=$1
  connect "$i" > "$work/problem.$i" || return 0
  if rsh "$i" ${onHost(probeScript(image))} "$delivery" "$relay" > "$work/probe.$i" 2> "$work/err.$i"; then
    : > "$work/problem.$i"
  else
    echo "the probe failed: $(cause_of "$work/err.$i" "ssh ended")" > "$work/problem.$i"
  fi
}
# How many leading layers of the image the host already holds as the same chain.
shared_layers() {
  local best=0 kind id rest k
  local -a layers
  while read -r kind id rest; do
    [ "$kind" = image ] || continue
    read -ra layers <<< "$rest"
    k=0
    while [ "$k" -lt "\${#layers[@]}" ] && [ "$k" -lt "\${#diff_ids[@]}" ] && [ "\${layers[k]}" = "\${diff_ids[k]}" ]; do
      k=$((k + 1))
    done
    [ "$k" -le "$best" ] || best=$k
  done < "$1"
  echo "$best"
}
${HOST_SCRIPT_WORDS}
arm_host() {
  local i=$1 up=\${upstream[$1]:-} nx=\${downstream[$1]:-} key="" known="" from=- to=- port=22
  if [ -n "$up" ]; then key=$(awk '$1 == "relaykey" { print $2 " " $3 }' "$work/probe.$up"); from=\${host_addr[up]}; fi
  if [ -n "$nx" ]; then
    known=$(sed -n "$((nx + 1))p" "$work/known_hosts")
    to=\${host_user[nx]}@\${host_addr[nx]}
    port=\${host_port[nx]}
  fi
  if { printf '%s\\n%s\\n' "$key" "$known"; printf '%s' "$receive_script"; } |
    rsh "$i" ${onHost(armScript(image))} "\${attempt[$i]}" "$from" "$to" "$port" 2> "$work/err.$i"; then
    : > "$work/problem.$i"
  else
    echo "preparing the host failed: $(cause_of "$work/err.$i" "ssh ended")" > "$work/problem.$i"
  fi
}
${HOST_SCRIPT_WORDS}
link_host() {
  rsh "$1" ${onHost(linkScript(image))} "\${attempt[$1]}" > /dev/null 2> "$work/err.$1" ||
    say_at "$1" "$(cause_of "$work/err.$1" "ssh ended"): the next hosts get the image directly"
}
${HOST_SCRIPT_WORDS}
load_host() {
  local i=$1 code=0
  rsh "$i" ${onHost(loadScript(image))} "\${attempt[$i]}" "$(cut -c1-64 "$work/sum.$k")" "$image_id" "$kind" \\
    > /dev/null 2> "$work/err.$i" || code=$?
  echo "$code" > "$work/load.$i"
}
# Progress every 5 s from dd's status lines on stdin; $1 names the hosts.
meter() {
  awk -v RS='[\\r\\n]' -v prefix="hcloud-deploy: $app on $1: " '
    / copied, / { t = $(NF-3) + 0; if (t >= due) { printf "%s%.1f MiB sent, %s %s\\n", prefix, $1 / 1048576, $(NF-1), $NF; fflush(); due = t + 5 } }'
}
# stream <k> <head> <label>: packs (once per k; the compressed archive is kept for direct retries) and
# sends to the head of a chain; the head relays. The checksum is taken from the very bytes sent.
stream() {
  local k=$1 head=$2 packed="$work/pack.$1.zst" codes sum_pid=""
  rm -f "$work/tap" "$work/progress"
  mkfifo "$work/tap" "$work/progress"
  meter "$3" < "$work/progress" &
  local meter_pid=$!
  if [ -e "$work/sum.$k" ]; then
    { set +e; dd if="$packed" bs=1M status=progress 2> "$work/progress" |
        rsh "$head" sh "$ctl_root/$app.\${attempt[$head]}/recv" 2> "$work/stream.err"
      echo "0 0 \${PIPESTATUS[*]}" > "$work/codes"; } &
  else
    sha256sum < "$work/tap" > "$work/sum.$k.tmp" &
    sum_pid=$!
    { set +e; pack_source "$k" 2> "$work/pack.err" | zstd -T0 "$zstd_level" -q -c | tee -p "$packed" "$work/tap" |
        dd bs=1M iflag=fullblock status=progress 2> "$work/progress" |
        rsh "$head" sh "$ctl_root/$app.\${attempt[$head]}/recv" 2> "$work/stream.err"
      echo "\${PIPESTATUS[*]}" > "$work/codes"; } &
  fi
  wait $! || true
  wait "$meter_pid" || true
  read -ra codes < "$work/codes"
  if [ "\${codes[0]}" != 0 ] || [ "\${codes[1]}" != 0 ]; then
    fail "packing the image on the deployer failed: $(cause_of "$work/pack.err" "docker save ended with \${codes[0]}")"
  fi
  if [ ! -e "$work/sum.$k" ]; then wait "$sum_pid" || true; mv "$work/sum.$k.tmp" "$work/sum.$k"; fi
}
# Exit statuses of the load stage that call for another try.
partial_refused=${PARTIAL_REFUSED}
stream_broken=${STREAM_BROKEN}
`;
}

/** The shell word of a receive script for the deployer to hand to `arm` (see receiveScript). */
export function receiveScriptVariable(script: string): string {
  return `${HOST_SCRIPT_WORDS}\nreceive_script=${shQuote(script)}\n`;
}
