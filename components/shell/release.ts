import { APP_NETWORK, FAIL_FUNCTION, LABELS, PATHS, sayFunction, shQuote } from "./prelude";
import { APP_RESOLVERS } from "./service";
import { prepareVolumesLines, VolumeMount, volumeMountArgs } from "./volumes";

export interface ReleaseSpec {
  readonly app: string;
  readonly hostName: string;
  /** Image reference on the host (the delivery's host tag). */
  readonly image: string;
  /** Program and arguments, run as written: the program replaces the image's entrypoint. */
  readonly command: readonly string[];
  readonly timeoutSeconds: number;
  readonly memory: string;
  readonly cpus: number;
  /** The app's volumes, mounted as its containers have them; default none. */
  readonly volumes?: readonly VolumeMount[];
}

/** How many lines of the command's output a failure shows. */
export const RELEASE_OUTPUT_LINES = 20;

/**
 * Host side (sh) of an app's release command (a migration): a one-off container of the new image with the
 * app's env (stdin: the env file, secrets included) on the apps' network, run to completion before any
 * host of the app rolls. Its output is shown; a non-zero exit or the timeout fails in one line with its
 * last output lines before it, and the container is removed on every path.
 */
export function releaseScript(spec: ReleaseSpec): string {
  const what = `release command ${spec.command.join(" ")}`;
  const volumes = spec.volumes ?? [];
  const mounts = volumeMountArgs(spec.app, volumes)
    .map((word) => `${word} `)
    .join("");
  return `# shellcheck disable=SC2016 # the command's words are single-quoted on purpose: $ and \` stay as written
set -eu
app=${shQuote(spec.app)} image=${shQuote(spec.image)}
${sayFunction('"$app"', shQuote(spec.hostName))}
${FAIL_FUNCTION}
docker image inspect "$image" >/dev/null 2>&1 ||
  fail "image $image is not on the host (removed since its delivery? deploy again to deliver it); nothing was rolled"
dir=${PATHS.appConfig}/$app
umask 077
mkdir -p "$dir" 2>/dev/null || fail "cannot create $dir (disk full?)"
env_file=$dir/release.env
log=$dir/release.log
cat >"$env_file" || fail "cannot write the env file (disk full?)"
name="$app-release"
# A run cut off before: its container goes first.
docker rm -f "$name" >/dev/null 2>&1 || true
trap 'docker rm -f "$name" >/dev/null 2>&1 || true; rm -f "$env_file"' EXIT
${APP_RESOLVERS}
${prepareVolumesLines(spec.app, volumes)}say running ${shQuote(what)} from "$image"
start=$(date +%s)
status=0
timeout ${spec.timeoutSeconds} docker run --name "$name" --network ${APP_NETWORK.name} --init --env-file "$env_file" \\
  --memory ${shQuote(spec.memory)} --cpus ${shQuote(spec.cpus)} --label ${LABELS.app}-release=${shQuote(spec.app)} \\
  \${dns_mount:+"$dns_mount"} ${mounts}--entrypoint ${shQuote(spec.command[0])} "$image" ${spec.command.slice(1).map(shQuote).join(" ")} >"$log" 2>&1 || status=$?
cat "$log"
took=$(( $(date +%s) - start ))
if [ "$status" -eq 124 ]; then
  tail -n ${RELEASE_OUTPUT_LINES} "$log" >&2
  fail ${shQuote(what)} "did not finish within ${spec.timeoutSeconds}s; nothing was rolled, the previous version keeps serving"
fi
if [ "$status" -ne 0 ]; then
  tail -n ${RELEASE_OUTPUT_LINES} "$log" >&2
  fail ${shQuote(what)} "exited with status $status after \${took}s; nothing was rolled, the previous version keeps serving"
fi
say "release command passed in \${took}s"
`;
}
