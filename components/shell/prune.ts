import { HOST_TAG_PREFIX, PATHS, sayFunction, shQuote } from "./prelude";

export interface PruneArgs {
  readonly app: string;
  readonly hostName: string;
  /** How many of the app's most recent releases stay on the host, besides any image a container uses. */
  readonly keep: number;
  /** Host tags that must stay whatever their age: the images the stack pins for this app on this host. */
  readonly pinned: readonly string[];
  /** The host's image lock (see SHARED_IMAGE_LOCK). Default: PATHS.imageLock. */
  readonly lockFile?: string;
}

/**
 * Host side (sh): keeps the app's `keep` most recent releases (by when they arrived on the host), every
 * image a container of any state uses, and the pinned ones; removes the app's other hcloud-deploy tags
 * (with them the images and layers nothing else references), then dangling images when no delivery is
 * loading. Touches no other app's tags, so an image shared with another app keeps that app's tag.
 * Prints one line saying what it did; never fails the script that calls it.
 */
export function pruneScript(args: PruneArgs): string {
  if (!Number.isInteger(args.keep) || args.keep < 1)
    throw new Error(`keep must be at least 1, not ${args.keep}`);
  const repo = `${HOST_TAG_PREFIX}${args.app}`;
  return `(
set -u
${sayFunction(shQuote(args.app), shQuote(args.hostName))}
keep=${args.keep}
pinned=${shQuote(args.pinned.map((t) => ` ${t} `).join(""))}
# Image IDs any container uses, running or not (a stopped one may be the previous version).
in_use=" $(docker ps -aq --no-trunc | xargs -r docker inspect --format '{{.Image}}' | tr '\\n' ' ') "
# The app's releases, newest arrival first: "<tag time, ns> <image ID> <tag>". JSON and date(1), because
# Docker CLIs disagree on what a template sees of the time (a time.Time or a string).
releases=$(docker image ls --format '{{.Repository}}:{{.Tag}}' ${shQuote(repo)} | while read -r tag; do
  info=$(docker image inspect --format '{{json .Metadata.LastTagTime}} {{.Id}}' "$tag" | tr -d '"')
  printf '%s %s %s\n' "$(date -d "\${info%% *}" +%s%N 2>/dev/null || echo 0)" "\${info#* }" "$tag"
done | sort -rn)
rank=0 removed=0 kept=0
while read -r _time id tag; do
  case "$tag" in "" | *"<none>") continue ;; esac
  rank=$((rank + 1))
  case "$pinned" in *" $tag "*) kept=$((kept + 1)); continue ;; esac
  case "$in_use" in *" $id "*) kept=$((kept + 1)); continue ;; esac
  if [ "$rank" -le "$keep" ]; then kept=$((kept + 1)); continue; fi
  if docker rmi "$tag" >/dev/null 2>&1; then removed=$((removed + 1)); fi
done <<EOF
$releases
EOF
# Dangling images (a failed load, a moved tag), unless a delivery holds the lock right now.
dangling=""
if exec 9>${shQuote(args.lockFile ?? PATHS.imageLock)} && flock -n -x 9; then
  dangling=$(docker image prune -f 2>/dev/null | sed -n 's/^Total reclaimed space: //p')
else
  dangling="skipped (a delivery is loading)"
fi
say "pruned $removed old image(s), kept $kept; dangling images: \${dangling:-none}"
) || true`;
}
