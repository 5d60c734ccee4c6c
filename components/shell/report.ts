import { DOCKER_ROOT, FAIL_FUNCTION, HOST_TAG_PREFIX, LABELS, sayFunction, shQuote } from "./prelude";
import { JOB_PATHS, jobUnit } from "./jobs";
import { deployerSsh, HOST_SCRIPT_WORDS, onHost, SshTarget } from "./ssh";

/**
 * A check the report makes on the host itself, through the host's proxy: the app's health path on its
 * host port, or over HTTPS on its first domain (the certificate is not what this checks).
 */
export interface ReportCheck {
  readonly app: string;
  readonly port: number;
  readonly path: string;
  /** The app's first domain when the proxy serves it over HTTPS. Default: none (plain HTTP on port). */
  readonly domain?: string;
}

function checkLine(c: ReportCheck): string {
  if (c.domain === undefined) return `check ${shQuote(c.app)} ${shQuote(`http://[::1]:${c.port}${c.path}`)}`;
  return `check ${shQuote(c.app)} ${shQuote(`https://${c.domain}${c.path}`)} -k --resolve ${shQuote(`${c.domain}:443:[::1]`)}`;
}

/** An app volume the host should have: its directory, looked at for a mount, its size and free space. */
export interface ReportVolume {
  readonly app: string;
  readonly name: string;
  readonly dir: string;
}

/** A scheduled job the host should have: whether its timer is installed, and its last run. */
export interface ReportJob {
  readonly app: string;
  readonly job: string;
}

export interface ReportArgs {
  /** The host proxy's admin socket: its HTTP servers (routes) are reported when the socket exists. */
  readonly proxySocket: string;
  /** Checks to make, one per app the host should run. */
  readonly checks: readonly ReportCheck[];
  /** Volumes to look at. Default: none. */
  readonly volumes?: readonly ReportVolume[];
  /** Jobs to look at. Default: none. */
  readonly jobs?: readonly ReportJob[];
}

function volumeLine(v: ReportVolume): string {
  return `volume ${shQuote(v.app)} ${shQuote(v.name)} ${shQuote(v.dir)}`;
}

/**
 * Per container: the fields `docker inspect` knows that status needs, as one JSON object. Never the
 * whole inspect output: its Config.Env holds the app's secrets.
 */
const CONTAINER_FIELDS = [
  `"name":{{json .Name}}`,
  `"imageId":{{json .Image}}`,
  `"image":{{json .Config.Image}}`,
  `"app":{{json (index .Config.Labels "${LABELS.app}")}}`,
  `"instance":{{json (index .Config.Labels "${LABELS.instance}")}}`,
  `"revision":{{json (index .Config.Labels "${LABELS.revision}")}}`,
  `"state":{{json .State.Status}}`,
  `"exitCode":{{.State.ExitCode}}`,
  `"startedAt":{{json .State.StartedAt}}`,
  `"restartCount":{{.RestartCount}}`,
  `"health":{{if .State.Health}}{{json .State.Health.Status}}{{else}}null{{end}}`,
  `"ports":{{json .HostConfig.PortBindings}}`,
].join(",");

/**
 * Host side (sh): prints one JSON object describing what runs on the host — every container with the
 * app label (any state), every hcloud-deploy image tag and the image it names, the HTTP answer of each
 * check, the disk holding Docker's data, the volumes and jobs asked about, and the proxy's HTTP servers
 * (null without a proxy). Reads only.
 */
export function reportScript(args: ReportArgs): string {
  const checks = args.checks.map(checkLine).join("\n");
  return `set -u
sep() { if [ "$first" = 1 ]; then first=0; else printf ','; fi; }
# check APP URL [CURL OPTION…]
check() {
  app=$1 url=$2
  shift 2
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$@" "$url" 2>/dev/null) || true
  sep; printf '{"app":"%s","url":"%s","http":"%s"}' "$app" "$url" "\${code:-000}"
}
printf '{"containers":['
first=1
for id in $(docker ps -aq --no-trunc --filter label=${LABELS.app}); do
  line=$(docker inspect --format ${shQuote(`{${CONTAINER_FIELDS}}`)} "$id" 2>/dev/null) || continue
  sep; printf '%s' "$line"
done
printf '],"images":['
first=1
docker image ls --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}' --filter ${shQuote(`reference=${HOST_TAG_PREFIX}*`)} |
  { while read -r tag id; do sep; printf '{"tag":"%s","id":"%s"}' "$tag" "$id"; done; }
printf '],"checks":['
first=1
${checks}
${DOCKER_ROOT}
read -r total used available <<EOF
$(df -P -k "$docker_root" | awk 'NR == 2 { print $2, $3, $4 }')
EOF
images=$(docker system df --format '{{.Type}} {{.Size}}' 2>/dev/null | awk '$1 == "Images" { print $2 }')
printf '],"disk":{"path":"%s","totalKiB":%s,"usedKiB":%s,"availableKiB":%s,"images":"%s"},"volumes":[' \\
  "$docker_root" "\${total:-0}" "\${used:-0}" "\${available:-0}" "$images"
first=1
# volume APP NAME DIR
volume() {
  exists=false mounted=false vtotal=0 vavailable=0
  if [ -d "$3" ]; then
    exists=true
    if mountpoint -q "$3"; then mounted=true; fi
    sizes=$(df -P -k "$3" | awk 'NR == 2 { print $2 " " $4 }')
    vtotal=\${sizes% *} vavailable=\${sizes#* }
  fi
  sep; printf '{"app":"%s","name":"%s","exists":%s,"mounted":%s,"totalKiB":%s,"availableKiB":%s}' \\
    "$1" "$2" "$exists" "$mounted" "$vtotal" "$vavailable"
}
${(args.volumes ?? []).map(volumeLine).join("\n")}
printf '],"jobs":['
first=1
# job APP JOB
job() {
  installed=false last=null
  if [ -f "${JOB_PATHS.units}/${jobUnit("$1", "$2")}.timer" ]; then installed=true; fi
  if [ -s "${JOB_PATHS.state}/$1/$2.last" ]; then last=$(cat "${JOB_PATHS.state}/$1/$2.last"); fi
  sep; printf '{"app":"%s","job":"%s","installed":%s,"last":%s}' "$1" "$2" "$installed" "$last"
}
${(args.jobs ?? []).map((j) => `job ${shQuote(j.app)} ${shQuote(j.job)}`).join("\n")}
printf '],"proxy":'
servers=""
if [ -S ${shQuote(args.proxySocket)} ]; then
  servers=$(curl -s --max-time 3 --unix-socket ${shQuote(args.proxySocket)} -H 'Host: ' http://localhost/config/apps/http/servers) || servers=""
fi
printf '%s}\\n' "\${servers:-null}"
`;
}

export interface OverSshOptions {
  /**
   * Where the private key comes from: 0 (stdin, and the rest of stdin reaches the host script) or another
   * descriptor, leaving stdin to the host script whole. Default: 0.
   */
  readonly keyFd?: number;
  /** A terminal for the host script (the deployer's stdin is one). Default: false. */
  readonly tty?: boolean;
}

/**
 * The deployer's side (bash) of one conversation with a host: the shared SSH prelude (the deployer's
 * private key, see OverSshOptions), a fail-fast dial, then `remoteScript` on the host with its stdin,
 * stdout and exit status passed through. `what` names the conversation in failure lines (`hcloud-deploy: <what> on <host>: …`).
 */
export function overSsh(
  target: SshTarget,
  hostName: string,
  what: string,
  remoteScript: string,
  options: OverSshOptions = {},
): string {
  return `set -euo pipefail
${sayFunction(shQuote(what), shQuote(hostName))}
${FAIL_FUNCTION}
${deployerSsh(target, options.keyFd)}
check_host
${options.tty ? "rsh_options=(-t)\n" : ""}${HOST_SCRIPT_WORDS}
remote ${onHost(remoteScript)}
`;
}
