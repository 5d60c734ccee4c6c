import { FAIL_FUNCTION, sayFunction, shQuote } from "./prelude";

export interface ImageIndexArgs {
  /** App name, for messages. */
  readonly app: string;
  /** `<registry>/<namespace>/<app>:<tag>`: the tag the index is pushed as. */
  readonly indexTag: string;
  /** Digest references of the per-platform images, already in the same repository. */
  readonly manifests: readonly string[];
  readonly registry: { readonly server: string; readonly username: string };
  /** Plain HTTP (the local stack's registry). */
  readonly insecure: boolean;
}

/**
 * Deployer side: pushes one index (manifest list) over per-platform images that are already in the
 * registry, so the app has one digest reference for all its hosts (what a rollback pins). Stdin: the push
 * token. The login lives in a throwaway Docker config; no layer moves. Prints `<repository>@<digest>`.
 */
export function imageIndexScript(args: ImageIndexArgs): string {
  const { server, username } = args.registry;
  const insecure = args.insecure ? " --insecure" : "";
  const repository = args.indexTag.replace(/:[^:/]+$/, "");
  return `set -euo pipefail
${sayFunction(shQuote(args.app), "deployer")}
${FAIL_FUNCTION}
IFS= read -r token
umask 077
DOCKER_CONFIG=$(mktemp -d)
export DOCKER_CONFIG
trap 'rm -rf "$DOCKER_CONFIG"' EXIT
if ! login=$(printf '%s' "$token" | docker login --username ${shQuote(username)} --password-stdin ${shQuote(server)} 2>&1); then
  fail "login to ${server} failed (is the push token valid?): $(printf '%s' "$login" | tr '\\n' ' ')"
fi
index=${shQuote(args.indexTag)}
if ! out=$(docker manifest create${insecure} "$index" ${args.manifests.map(shQuote).join(" ")} 2>&1); then
  fail "cannot make the index $index: $(printf '%s' "$out" | tr '\\n' ' ')"
fi
if ! digest=$(docker manifest push${insecure} --purge "$index" 2>&1); then
  fail "cannot push the index $index: $(printf '%s' "$digest" | tr '\\n' ' ')"
fi
digest=$(printf '%s' "$digest" | tail -n 1)
case $digest in
  sha256:*) ;;
  *) fail "pushing the index $index printed no digest: $digest" ;;
esac
say "index $index: ${args.manifests.length} platforms" >&2
printf '%s@%s\\n' ${shQuote(repository)} "$digest"
`;
}
