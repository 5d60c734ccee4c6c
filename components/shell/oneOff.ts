import { APP_NETWORK, LABELS, PATHS, shQuote } from "./prelude";

/**
 * sh lines (need `fail` and `$app`) that read how the container named after the app runs, running or
 * not: `$image`, `$env_file` (its revision's env file) and, as "$@", its memory and CPU limits and its
 * /etc/hosts entries (the other apps' `.internal` names). One-off
 * containers made from them (`exec --new`, jobs) match the app as it runs now, whichever version that is.
 */
export const APP_SETTINGS_LINES = `read -r image revision memory nano_cpus <<EOF
$(docker inspect --format '{{.Config.Image}} {{index .Config.Labels "${LABELS.revision}"}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}' "$app")
EOF
env_file=${PATHS.appConfig}/$app/$revision.env
[ -f "$env_file" ] || fail "the app's env file $env_file is missing (deploy the app again to write it)"
set --
[ "$memory" -gt 0 ] && set -- "$@" --memory "$memory"
[ "$nano_cpus" -gt 0 ] && set -- "$@" --cpus "$(awk -v n="$nano_cpus" 'BEGIN { printf "%.3f", n / 1e9 }')"
for entry in $(docker inspect --format '{{range .HostConfig.ExtraHosts}}{{.}} {{end}}' "$app"); do
  set -- "$@" --add-host "$entry"
done
`;

/**
 * `docker run` options (after APP_SETTINGS_LINES) of a one-off container like the app: its env file, its
 * mounts exactly (--volumes-from: its volumes, and the resolver file an older Docker needs), the apps'
 * network and its limits. A label of its own (`hcloud-deploy.app-<kind>`), not the app's: status and logs
 * count the app's containers only.
 */
export function likeTheAppOptions(kind: "exec" | "job", value: string): string {
  return `--label ${LABELS.app}-${kind}=${shQuote(value)} --network ${APP_NETWORK.name} --init --env-file "$env_file" --volumes-from "$app" "$@"`;
}
