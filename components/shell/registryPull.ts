import {
  FAIL_FUNCTION,
  HostImage,
  IMAGE_DISK_FULL_FUNCTION,
  PATHS,
  SHARED_IMAGE_LOCK,
  sayFunction,
  shQuote,
} from "./prelude";
import { deployerSsh, HOST_SCRIPT_WORDS, onHost, SshTarget } from "./ssh";

export interface RegistryPullArgs extends HostImage {
  /** Digest-pinned reference to pull. */
  readonly imageRef: string;
  readonly registry: { readonly server: string; readonly username: string };
}

/**
 * Host side of registry delivery. Stdin: the read-only pull token. The login lives in a throwaway
 * Docker config directory on tmpfs, is logged out and deleted on every exit path, so no credential
 * stays on the host. Every failure is one line.
 */
export function registryPullScript(args: RegistryPullArgs): string {
  const { server, username } = args.registry;
  return `set -eu
${sayFunction(shQuote(args.app), shQuote(args.hostName))}
${IMAGE_DISK_FULL_FUNCTION}
ref=${shQuote(args.imageRef)} tag=${shQuote(args.hostTag)} start=$(date +%s)
if docker image inspect "$tag" >/dev/null 2>&1; then
  say "$ref already on the host; nothing pulled"
  exit 0
fi
umask 077
cfg=$(mktemp -d ${PATHS.pullConfig}.XXXXXX)
trap 'docker --config "$cfg" logout ${shQuote(server)} >/dev/null 2>&1 || true; rm -rf "$cfg"' EXIT
# docker login warns on stderr about storing the credential; it lives on tmpfs for seconds only.
if ! login=$(docker --config "$cfg" login --username ${shQuote(username)} --password-stdin ${shQuote(server)} 2>&1); then
  say "login to ${server} failed (is the pull token valid and allowed read:packages?): $(printf '%s' "$login" | tr '\\n' ' ')" >&2
  exit 1
fi
# A prune on the host waits while the image is pulled and tagged.
${SHARED_IMAGE_LOCK}
if ! pulled=$(docker --config "$cfg" pull -q "$ref" 2>&1); then
  pulled=$(printf '%s' "$pulled" | tr '\\n' ' ' | cut -c1-300)
  case $pulled in
    *"no space left on device"*) image_disk_full pulling pulled ;;
    *) say "docker pull failed: $pulled" >&2 ;;
  esac
  exit 1
fi
docker tag "$ref" "$tag"
say "pulled $ref in $(( $(date +%s) - start ))s"
`;
}

/**
 * The deployer's side of registry delivery (bash): the shared SSH prelude (pinned key, fail fast with
 * one line), then the host script above with the pull token on ssh's stdin. Stdin: the OpenSSH private
 * key, then one line with the pull token. The host's own one-line cause ends the output on failure.
 */
export function registryPullDeliveryScript(args: RegistryPullArgs & { readonly target: SshTarget }): string {
  return `set -euo pipefail
${sayFunction(shQuote(args.app), shQuote(args.hostName))}
${FAIL_FUNCTION}
${deployerSsh(args.target)}
token=""
while IFS= read -r token && [ -z "$token" ]; do :; done
check_host
# The token reaches ssh through a pipe, never a file; the pull runs in the background so that a signal
# stops it at once.
mkfifo "$work/token"
printf '%s\\n' "$token" > "$work/token" &
token=""
${HOST_SCRIPT_WORDS}
remote ${onHost(registryPullScript(args))} < "$work/token" > "$work/out" 2> "$work/err" &
if wait $!; then cat "$work/out"; exit 0; fi
cat "$work/out"
cause=$(tr -d '\\r' < "$work/err" | grep -v '^$' | tail -n 1) || true
cause=\${cause#hcloud-deploy: * on *: }
fail "\${cause:-the connection to the host broke off}"
`;
}
