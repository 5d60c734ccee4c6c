#!/bin/bash
# The first stage of a simulated host's boot, on the machine's own tools: PID 1 of the host's fresh PID
# namespace, in its fresh mount and UTS namespaces, inside its network namespace. $1 is the host name, $2
# its state directory, $3 the root file system of its release (hostRootfs.ts). Makes the host's root and
# moves into it with pivot_root (runc, which Docker runs inside, wants a real root to pivot from, not a
# chroot), then execs the host's init (simhostInit.sh) under the release's tini, which stays PID 1.
# - The root is an overlay: the release's root file system, read-only and shared by every host of that
#   release, under the host's disk ($2/disk, the upper layer), so what the host writes is the host's, a
#   reboot (this script again) keeps it, and a new host (an empty state directory) starts clean.
# - /run, /tmp and /root are tmpfs, /dev/shm too: a reboot loses them, as it does on the VM.
# - /run/harness is $2/harness: the boot files, the units' logs and the socket the machine reaches the
#   host's dockerd by.
# - /dev is the machine's, but for /dev/disk: a tmpfs of the host's own, where its disks (Hetzner Volumes,
#   simhostDisks.ts) are linked from the record $2/harness/disks ("<name> <device>" lines), so they come
#   back at every boot. A machine without udev has no /dev/disk: the empty mount point is made in its /dev.
set -eu
host=$1 state=$2 lower=$3
root=$state/root disk=$state/disk
hostname "$host"
docker_disk_mib=$(cat "$state/harness/docker-disk-mib")
# Docker's overlay2 and containerd's snapshotter refuse overlayfs beneath them, so their directories of
# the disk are bound over the overlay: the same files, on the machine's file system. Made before the
# overlay is mounted, which must not see its upper layer change under it.
mkdir -p "$disk/var/lib/docker" "$disk/var/lib/containerd"
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$disk,workdir=$state/disk.work" "$root"
mount --bind "$disk/var/lib/containerd" "$root/var/lib/containerd"
if [ -n "$docker_disk_mib" ]; then
  # A small disk for Docker (disk-full tests); being a tmpfs, it does not survive a reboot.
  mount -t tmpfs -o "size=${docker_disk_mib}m,mode=0710" tmpfs "$root/var/lib/docker"
else
  mount --bind "$disk/var/lib/docker" "$root/var/lib/docker"
fi
mount -t proc proc "$root/proc"
# A sysfs of the host's network namespace (its own /sys/class/net), and the machine's cgroup hierarchy
# as it is laid out (v1 controllers here), where dockerd puts its containers' cgroups.
mount -t sysfs sysfs "$root/sys"
mount --rbind /sys/fs/cgroup "$root/sys/fs/cgroup"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
mkdir -p "$root/dev/disk"
mount -t tmpfs -o mode=0755,nosuid,nodev,noexec tmpfs "$root/dev/disk"
mkdir "$root/dev/disk/by-id"
if [ -e "$state/harness/disks" ]; then
  while read -r name device; do
    [ -z "$name" ] || ln -s "$device" "$root/dev/disk/by-id/$name"
  done <"$state/harness/disks"
fi
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
mount -t tmpfs -o mode=0700 tmpfs "$root/root"
mkdir -m 0700 "$root/run/harness"
mount --bind "$state/harness" "$root/run/harness"
cd "$root"
# The old root lands on top of the new one and is detached from there (pivot_root(2), "pivot_root(".",
# ".")"): nothing of the machine's tree stays reachable but what was bound in above.
pivot_root . .
umount -l .
cd /
exec /usr/bin/tini -- /bin/bash /run/harness/init.sh "$host"
