import { HostImage, PATHS, SHARED_IMAGE_LOCK, sayFunction, shQuote } from "./prelude";

export interface RegistryPullArgs extends HostImage {
  /** Digest-pinned reference to pull. */
  readonly imageRef: string;
  readonly registry: { readonly server: string; readonly username: string };
}

/**
 * Host side of registry delivery. Stdin: the read-only pull token. The login lives in a throwaway
 * Docker config directory on tmpfs, is logged out and deleted on every exit path, so no credential
 * stays on the host.
 */
export function registryPullScript(args: RegistryPullArgs): string {
  const { server, username } = args.registry;
  return `set -eu
${sayFunction(shQuote(args.app), shQuote(args.hostName))}
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
  say "login to ${server} failed (is the pull token valid and allowed read:packages?): $login" >&2
  exit 1
fi
${SHARED_IMAGE_LOCK}
docker --config "$cfg" pull -q "$ref" >/dev/null
docker tag "$ref" "$tag"
say "pulled $ref in $(( $(date +%s) - start ))s"
`;
}
