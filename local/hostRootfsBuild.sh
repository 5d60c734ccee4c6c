#!/bin/bash
# Builds the root filesystem simulated hosts of one Debian release boot (see local/hostRootfs.ts), once:
# debootstrap's minbase, then the packages with apt inside it. Run in private mount and PID namespaces
# (hostRootfs.ts does), so every mount debootstrap and this script make, and every process a maintainer
# script might leave behind, go with it; /proc stays the machine's (the last step looks at its mounts). Progress goes to stderr, one line per step; apt's and
# debootstrap's own output to build.log.
#   hostRootfsBuild.sh RELEASE DIR MIRROR SECURITY_MIRROR DEBS PACKAGE...
# ROOTFS_COMMANDS replaces the commands the result must have (the hosts' by default) and ROOTFS_LABEL the
# start of each progress line, for the Debian images of the local stack (local/debianImages.ts).
# DIR is the result: DIR/root the file system, DIR/versions "<package> <version>" of each PACKAGE, then
# "debian <debian_version>". It is built in DIR.tmp and renamed, under DIR.lock, so a reader sees a
# whole one or none, and two builders never build it at once. DEBS caches the downloaded packages.
set -euo pipefail
release=$1 dir=$2 mirror=$3 security=$4 debs=$5
shift 5
packages=("$@")
tmp=$dir.tmp
root=$tmp/root
log=$tmp/build.log
started=$SECONDS
say() { echo "${ROOTFS_LABEL:-host rootfs} $release: $*" >&2; }

mkdir -p "$(dirname "$dir")" "$debs/partial"
exec 9>"$dir.lock"
if ! flock -n 9; then
  say "waiting for another process building it"
  flock 9
fi
if [[ -e $dir/versions ]]; then
  say "built by another process meanwhile"
  exit 0
fi
# Whatever an interrupted build left (the lock is ours, so nobody is writing it).
rm -rf "$tmp" "$dir"
mkdir -p "$tmp"
: >"$log"
fail() {
  say "$1; the end of $log:"
  tail -n 20 "$log" >&2
  exit 1
}
step() { say "$1 ($((SECONDS - started))s)"; }

step "debootstrap --variant=minbase from $mirror (about a minute; log: $log)"
debootstrap --variant=minbase --cache-dir="$debs" "$release" "$root" "$mirror" >>"$log" 2>&1 ||
  fail "debootstrap failed"

# The mirror apt inside uses, as a Hetzner image has it: the release, its updates and security updates.
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $release main
deb $mirror $release-updates main
deb $security $release-security main
EOF
# Maintainer scripts ask invoke-rc.d whether they may start a service; 101 says no. Nothing the packages
# bring may run here: the hosts' init starts their daemons, inside the hosts.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"
# apt keeps what it downloads in the shared cache, so a rebuild (another package set) fetches only news.
mount --bind "$debs" "$root/var/cache/apt/archives"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }

step "apt-get update"
in_root apt-get -q update >>"$log" 2>&1 || fail "apt-get update failed"
step "installing ${#packages[@]} packages: ${packages[*]}"
# Without recommends: cloud-init's install brings docker.io's (git, needrestart, xz-utils...), which no host
# script uses, and needrestart would act on its own.
in_root apt-get -q install -y --no-install-recommends "${packages[@]}" >>"$log" 2>&1 ||
  fail "apt-get install failed"
# What the hosts' init and the product's host scripts run: a package that moved (Debian 13's docker CLI)
# shows here rather than as a failing deploy.
missing=""
host_commands="bash tini containerd dockerd docker runc sshd ssh ssh-keygen caddy iptables ip6tables ip ss
  curl zstd flock setpriv getent awk sed find tee mkfifo sha256sum od base64 cmp hostname ps setsid
  blkid mountpoint chattr resize2fs mount umount"
for command in ${ROOTFS_COMMANDS:-$host_commands}; do
  in_root sh -c "command -v $command" >/dev/null || missing="$missing $command"
done
[[ -z $missing ]] || fail "the packages bring no$missing"
# shellcheck disable=SC2016 # dpkg-query's format, not shell
in_root dpkg-query -W -f '${Package} ${Version}\n' "${packages[@]}" >"$tmp/versions.new"
echo "debian $(cat "$root/etc/debian_version")" >>"$tmp/versions.new"

step "making it a template"
umount "$root/var/cache/apt/archives" "$root/proc"
rm -f "$root/usr/sbin/policy-rc.d"
# Each host gets its own: cloud-init deletes an image's host keys (ssh_deletekeys) and pins one key.
rm -f "$root"/etc/ssh/ssh_host_*
# The caddy package enables its unit; on a host it is enabled once cloud-init installs it (enabledUnits).
rm -f "$root/etc/systemd/system/multi-user.target.wants/caddy.service"
# The machine's, copied by debootstrap; every host writes its own.
: >"$root/etc/resolv.conf"
: >"$root/etc/machine-id"
printf 'localhost\n' >"$root/etc/hostname"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/log/*.log "$root"/var/log/apt/*
mv "$tmp/versions.new" "$tmp/versions"
mv "$tmp" "$dir"
say "ready in $((SECONDS - started))s: $(du -sm "$dir/root" | cut -f1) MiB in $dir"

# Earlier builds of this release (another package set) go, unless a running host still has one mounted.
for old in "$(dirname "$dir")/$release"-*; do
  [[ $old != "$dir" && -d $old && $old != *.tmp && $old != *.lock ]] || continue
  if grep -qsF "lowerdir=$old/root" /proc/[0-9]*/mountinfo; then continue; fi
  say "removing the previous build $old"
  rm -rf "$old" "$old.lock"
done
