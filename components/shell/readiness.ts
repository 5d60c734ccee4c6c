import { shQuote } from "./prelude";

export interface ReadinessScriptArgs {
  /** Host name used in messages. */
  readonly hostName: string;
  /** How long to wait for cloud-init and Docker, in seconds. */
  readonly timeoutSeconds: number;
}

/**
 * Waits on the host until cloud-init has finished (its boot-finished marker) and Docker answers. The SSH
 * dial itself is retried by the command provider; this covers the minutes of package installation after
 * sshd is already up.
 */
export function readinessScript(args: ReadinessScriptArgs): string {
  return `set -eu
host=${shQuote(args.hostName)}
deadline=$(( $(date +%s) + ${Math.floor(args.timeoutSeconds)} ))
wait_for() {
  what=$1; shift
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "hcloud-deploy: host $host: $what did not happen within ${Math.floor(args.timeoutSeconds)}s" >&2
      if command -v cloud-init >/dev/null 2>&1; then cloud-init status --long >&2 || true; fi
      exit 1
    fi
    sleep 2
  done
}
wait_for "cloud-init finishing" test -f /var/lib/cloud/instance/boot-finished
wait_for "docker info answering" docker info
echo "host $host ready: docker $(docker version --format '{{.Server.Version}}')"
`;
}
