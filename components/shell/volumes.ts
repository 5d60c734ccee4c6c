import { PATHS, shQuote } from "./prelude";

/** One place an app keeps data: a directory on the host, mounted into the container at `path`. */
export interface VolumeMount {
  /** Lowercase name, unique per app: the host directory is `<PATHS.volumes>/<app>/<name>`. */
  readonly name: string;
  /** Absolute path inside the container. */
  readonly path: string;
  /** GB of a Hetzner Volume mounted on the directory (it must be mounted); unset: a plain directory. */
  readonly size?: number;
}

/** Names: what may be a directory name and a Docker mount option value without quoting. */
export const VOLUME_NAME = /^[a-z][a-z0-9-]{0,30}$/;
/** Container paths: absolute, without the characters Docker's --mount syntax or a shell would read. */
export const VOLUME_PATH = /^(\/[A-Za-z0-9._@+-]+)+$/;

/** The host directory holding one volume of an app. */
export function volumeDirectory(app: string, volume: Pick<VolumeMount, "name">): string {
  return `${PATHS.volumes}/${app}/${volume.name}`;
}

/** The `docker run` words that mount an app's volumes; empty for none. */
export function volumeMountArgs(app: string, volumes: readonly VolumeMount[]): string[] {
  return volumes.map((v) => `--mount type=bind,source=${volumeDirectory(app, v)},target=${v.path}`);
}

/**
 * sh (needs `fail`; `$image` is the image the app runs): makes each volume's directory if it is missing
 * and gives it to the image's user (`USER` of its config, a name looked up in the image's own
 * /etc/passwd and /etc/group), so an app that does not run as root can write there. Only a directory
 * still owned by root changes hands, and only its top: data written since keeps its owners.
 */
export function prepareVolumesLines(app: string, volumes: readonly VolumeMount[]): string {
  if (volumes.length === 0) return "";
  return `# image_owner: uid:gid the image runs as, from its config's USER (names looked up in its files).
image_owner() {
  user=$(docker image inspect --format '{{.Config.User}}' "$image") || return 1
  [ -n "$user" ] || { echo 0:0; return 0; }
  uid=\${user%%:*} gid=""
  case $user in *:*) gid=\${user#*:} ;; esac
  case "$uid$gid" in
    *[!0-9]*)
      cid=$(docker create --entrypoint /hcloud-deploy-never-started "$image") || return 1
      passwd=$(docker cp "$cid:/etc/passwd" - 2>/dev/null | tar -xO 2>/dev/null || true)
      group=$(docker cp "$cid:/etc/group" - 2>/dev/null | tar -xO 2>/dev/null || true)
      docker rm "$cid" >/dev/null
      entry=$(printf '%s\\n' "$passwd" | awk -F: -v u="$uid" '$1 == u || $3 == u { print $3 ":" $4; exit }')
      case $uid in "" | *[!0-9]*) uid=\${entry%%:*} ;; esac
      [ -n "$gid" ] || gid=\${entry#*:}
      case $gid in *[!0-9]*) gid=$(printf '%s\\n' "$group" | awk -F: -v g="$gid" '$1 == g { print $3; exit }') ;; esac
      ;;
  esac
  [ -n "$uid" ] || { echo "user $user is not in the image's /etc/passwd"; return 1; }
  echo "$uid:\${gid:-$uid}"
}
owner=$(image_owner) || fail "cannot tell which user image $image runs as: $owner; the previous version keeps serving"
prepare_volume() {
  mkdir -p "$1" 2>/dev/null || fail "cannot create the volume directory $1 (disk full?); the previous version keeps serving"
  if [ "$owner" != 0:0 ] && [ "$(stat -c %u "$1")" = 0 ]; then chown "$owner" "$1"; fi
  # Full: the app starts, but every write of it fails; say so where the deploy shows it.
  [ "$(df -Pk "$1" | awk 'NR == 2 { print $4 }')" != 0 ] || say "volume $1 is full (0 KiB free): the app cannot write there; what it wrote is kept" >&2
}
${volumes.map((v) => prepareLine(app, v)).join("")}`;
}

function prepareLine(app: string, volume: VolumeMount): string {
  const dir = shQuote(volumeDirectory(app, volume));
  // A Hetzner Volume that is not mounted (not attached yet, lost at boot): the app must not start on the
  // empty directory underneath.
  const mounted =
    volume.size === undefined
      ? ""
      : `mountpoint -q ${dir} || fail "volume ${volume.name} (a Hetzner Volume) is not mounted on ${volumeDirectory(app, volume)}; the previous version keeps serving"\n`;
  return `${mounted}prepare_volume ${dir}\n`;
}

/**
 * sh (needs `say`): names each volume directory of the app that its config no longer lists; its data
 * stays where it is (only a person deletes data).
 */
export function leftoverVolumesLines(app: string, volumes: readonly VolumeMount[]): string {
  const listed = volumes.length > 0 ? `\n    ${volumes.map((v) => v.name).join(" | ")}) ;;` : "";
  return `for kept in ${PATHS.volumes}/${app}/*; do
  [ -d "$kept" ] || continue
  case \${kept##*/} in${listed}
    *) say "volume \${kept##*/} is no longer in the config: its data stays in $kept" ;;
  esac
done
`;
}

/** sh (needs `say`): after an app left the host, says where its volumes' data stays. */
export function keptVolumesLine(app: string): string {
  const dir = `${PATHS.volumes}/${app}`;
  return `if [ -d ${dir} ]; then say "its volumes stay in ${dir}: the product never deletes data"; fi
`;
}

/** Where a Hetzner Volume appears on its server, by its ID (stable across reboots and attachments). */
export const HETZNER_VOLUME_DEVICE_PREFIX = "/dev/disk/by-id/scsi-0HC_Volume_";

export interface HetznerVolumeMount {
  readonly app: string;
  readonly hostName: string;
  readonly volume: Pick<VolumeMount, "name">;
  /** The Hetzner Volume's ID. */
  readonly volumeId: string;
  /** Its size in GB: a resize changes the script, and its update grows the file system. */
  readonly sizeGb: number;
}

/** How long a mount waits for an attached volume's device to show up on the server. */
export const DEVICE_WAIT_SECONDS = 60;

/**
 * Host side (sh) of a Hetzner Volume's mount: waits for its device, mounts its file system (made by
 * Hetzner when it was created: this script never formats anything) on the volume's directory, and
 * records it in /etc/fstab for every boot, before Docker starts (`nofail`: a missing disk must not keep
 * the server from booting). The empty directory under the mount is made immutable, so an app started
 * without its disk fails to write instead of filling a fresh, empty data directory. A grown volume's file
 * system is grown online.
 */
export function mountVolumeScript(spec: HetznerVolumeMount): string {
  const device = `${HETZNER_VOLUME_DEVICE_PREFIX}${spec.volumeId}`;
  const dir = volumeDirectory(spec.app, spec.volume);
  const fstab = `${device} ${dir} ext4 defaults,discard,nofail,x-systemd.before=docker.service,x-systemd.device-timeout=${DEVICE_WAIT_SECONDS}s 0 2`;
  return `set -eu
device=${shQuote(device)} dir=${shQuote(dir)}
say() { printf 'hcloud-deploy: %s on %s: %s\\n' ${shQuote(`${spec.app} volume ${spec.volume.name}`)} ${shQuote(spec.hostName)} "$*"; }
fail() { say "$*" >&2; exit 1; }
waited=0
while [ ! -b "$device" ]; do
  [ "$waited" -lt ${DEVICE_WAIT_SECONDS} ] || fail "Hetzner Volume ${spec.volumeId} did not show up as $device within ${DEVICE_WAIT_SECONDS}s (is it attached to this server?)"
  sleep 1
  waited=$((waited + 1))
done
fstype=$(blkid -o value -s TYPE "$device" 2>/dev/null || true)
[ "$fstype" = ext4 ] || fail "$device holds no ext4 file system (\${fstype:-none}); it is left as it is, nothing was formatted"
if ! mountpoint -q "$dir"; then
  mkdir -p "$dir"
  # Empty, unmounted: nothing may write here but the disk.
  [ -n "$(ls -A "$dir")" ] || chattr +i "$dir" 2>/dev/null || true
  out=$(mount -t ext4 -o discard "$device" "$dir" 2>&1) || fail "cannot mount $device on $dir: $out"
fi
{ grep -v " $dir " /etc/fstab || true; echo ${shQuote(fstab)}; } >/etc/fstab.hcloud-deploy
if ! cmp -s /etc/fstab.hcloud-deploy /etc/fstab; then mv /etc/fstab.hcloud-deploy /etc/fstab; else rm -f /etc/fstab.hcloud-deploy; fi
resize2fs "$device" >/dev/null 2>&1 || true
say "Hetzner Volume ${spec.volumeId} (${spec.sizeGb} GB) mounted on $dir ($(df -Pm "$dir" | awk 'NR == 2 { print $2 " MiB, " $3 " MiB used" }'))"
`;
}

/**
 * Host side (sh) when a volume leaves the stack's config or the stack goes: unmounts it and drops its
 * fstab line, so the Hetzner Volume can be detached with its data intact; it is kept (the one line says
 * so) unless the stack chose to delete data.
 */
export function unmountVolumeScript(spec: HetznerVolumeMount & { readonly kept: boolean }): string {
  const dir = volumeDirectory(spec.app, spec.volume);
  const after = spec.kept
    ? `Hetzner Volume ${spec.volumeId} is kept with its data (delete it in the Hetzner Console when it is no longer needed)`
    : `Hetzner Volume ${spec.volumeId} is deleted with its data (hcloud-deploy:deleteData is on)`;
  return `set -eu
dir=${shQuote(dir)}
say() { printf 'hcloud-deploy: %s on %s: %s\\n' ${shQuote(`${spec.app} volume ${spec.volume.name}`)} ${shQuote(spec.hostName)} "$*"; }
if mountpoint -q "$dir"; then
  sync
  out=$(umount "$dir" 2>&1) || { say "cannot unmount $dir ($out): is a container still using it?" >&2; exit 1; }
fi
if grep -q " $dir " /etc/fstab; then
  grep -v " $dir " /etc/fstab >/etc/fstab.hcloud-deploy || true
  mv /etc/fstab.hcloud-deploy /etc/fstab
fi
say ${shQuote(`unmounted; ${after}`)}
`;
}
