#!/usr/bin/env bash
# Installs the Debian packages the local environment (local/) and the tests need, registers
# qemu-aarch64 with binfmt_misc and caches an arm64 busybox (for arm64 simulated hosts).
# Idempotent and quick when everything is present. Never leaves the system's dockerd or an
# sshd on port 22 running: the harness starts its own daemons with their own sockets and state.
set -euo pipefail

# Each package with what the harness or the tests use it for. Simulated hosts bring their own sshd,
# Docker, Caddy and firewall tools: they boot a Debian root file system built with debootstrap.
packages=(
  docker.io       # dockerd + docker CLI (20.10 on Debian 12)
  tini            # PID 1 of the deployer engine's PID namespace (docker.io depends on it, the harness runs it itself)
  openssh-client  # ssh, ssh-keygen
  docker-registry # the local stand-in for GHCR
  apache2-utils   # htpasswd -B (the registry only accepts bcrypt entries)
  busybox-static  # the only binary inside the test images, which are built FROM scratch
  iproute2        # ip netns / veth / addresses
  util-linux      # nsenter, unshare, setpriv, flock
  procps          # sysctl (per-netns DAD settings), ps
  pigz            # parallel gzip for image transfers
  zstd
  curl
  jq
  haproxy         # the emulator's load balancers: one HAProxy per hcloud Load Balancer, in its own netns
  openssl         # the emulator's managed certificates (self-signed, issued at once)
  dnsmasq-base    # a resolver in the root namespace answering a test name (outbound DNS from app containers)
  debootstrap     # the simulated hosts' root filesystems, and the benchmark's Debian minbase and python3 ones (cached)
  shellcheck      # the unit suite checks every script the builders produce
  qemu-user-static # qemu-aarch64-static: the kernel runs arm64 containers of arm64 simulated hosts with it
  tcpdump         # captures on simulated hosts' interfaces: traffic between apps stays off the public ones
)

log() { echo "setup-machine: $*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
  log "must run as root (it installs packages)"
  exit 1
fi

# Where arm64 test images take their busybox from (ARM64_BUSYBOX in local/images.ts).
cache_root=${HCLOUD_DEPLOY_CACHE:-$HOME/.cache/hcloud-deploy}
arm64_busybox=$cache_root/busybox-arm64/busybox
binfmt=/proc/sys/fs/binfmt_misc

# Removed on every exit: the temporary policy-rc.d (only when this script added it) and scratch space.
added_policy=""
work=""
cleanup() {
  if [[ -n $added_policy ]]; then rm -f "$added_policy"; fi
  if [[ -n $work ]]; then rm -rf "$work"; fi
}
trap cleanup EXIT

install_packages() {
  local missing=() pkg status
  for pkg in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    log "all ${#packages[@]} packages already installed"
    return
  fi

  # Maintainer scripts ask invoke-rc.d whether they may start services; exit 101 means "no".
  # Keep an existing policy (a container image may ship one) and remove only the one we add.
  local policy=/usr/sbin/policy-rc.d
  if [[ ! -e $policy ]]; then
    log "installing a temporary $policy so postinst scripts start no services"
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    added_policy=$policy
  fi

  log "apt-get update"
  apt-get update -qq >&2
  log "installing: ${missing[*]}"
  # No recommends: docker.io would pull in needrestart, which restarts services on its own.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2

  # Belt and braces for hosts with a live init system that ignored the policy.
  if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
    local unit
    for unit in docker.socket docker.service containerd.service ssh.service ssh.socket docker-registry.service haproxy.service caddy.service; do
      if systemctl is-active --quiet "$unit"; then
        log "stopping and disabling $unit (the harness runs its own daemons)"
        systemctl disable --now "$unit" >&2 || true
      fi
    done
  fi
}

# Whether the kernel runs aarch64 ELF files with qemu, also inside other mount namespaces.
qemu_aarch64_ready() {
  local entry=$binfmt/qemu-aarch64
  [[ -r $entry ]] && grep -qx enabled "$entry" && grep -qE '^flags: [A-Z]*F' "$entry"
}

# qemu-user-static's postinst registers nothing without systemd-binfmt or binfmt-support (and not at all
# where it detects a container), so the format Debian ships is registered here. The F flag makes the
# kernel open the interpreter at registration: a container's root has no /usr/bin/qemu-aarch64-static.
register_qemu_aarch64() {
  if [[ ! -e $binfmt/register ]]; then
    log "mounting binfmt_misc on $binfmt"
    mount -t binfmt_misc binfmt_misc "$binfmt"
  fi
  if qemu_aarch64_ready; then
    log "qemu-aarch64 is registered with binfmt_misc (flag F)"
    return
  fi
  local conf=/usr/lib/binfmt.d/qemu-aarch64.conf line
  if [[ ! -r $conf ]]; then
    log "$conf is missing: is qemu-user-static installed?"
    exit 1
  fi
  if [[ -e $binfmt/qemu-aarch64 ]]; then
    log "replacing the qemu-aarch64 registration, which is disabled or lacks the F flag"
    echo -1 >"$binfmt/qemu-aarch64"
  fi
  line=$(grep -v '^#' "$conf" | head -n 1)
  # The last field holds the flags; Debian's are OPF, but add F should a later package drop it.
  [[ ${line##*:} == *F* ]] || line+=F
  log "registering qemu-aarch64 with binfmt_misc from $conf"
  printf '%s\n' "$line" >"$binfmt/register"
  if ! qemu_aarch64_ready; then
    log "qemu-aarch64 is still not registered with the F flag: $(tr '\n' ' ' <"$binfmt/qemu-aarch64" 2>/dev/null)"
    exit 1
  fi
}

# The arm64 busybox-static from the Debian mirror apt already uses, through a private apt index of the
# arm64 architecture: the machine's dpkg architectures and package lists stay as they are.
cache_arm64_busybox() {
  if [[ -x $arm64_busybox ]]; then
    log "arm64 busybox cached at $arm64_busybox"
    return
  fi
  work=$(mktemp -d)
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  local apt_arm64=(
    -q -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Dir::State::status=/dev/null
    -o APT::Architecture=arm64 -o APT::Architectures::=arm64
    # Neither AppStream metadata (apt.conf.d/50appstream) nor the _apt sandbox user, who cannot write $work.
    -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false -o APT::Sandbox::User=root
  )
  log "fetching busybox-static:arm64 (an arm64 package index of about 9 MB, then the 0.8 MB package)"
  apt-get "${apt_arm64[@]}" update >&2
  (cd "$work" && apt-get "${apt_arm64[@]}" download busybox-static >&2)
  dpkg-deb -x "$work"/busybox-static_*_arm64.deb "$work/root"
  mkdir -p "$(dirname "$arm64_busybox")"
  # Renamed into place, so an interrupted run never leaves a partial binary that looks cached.
  cp "$work/root/bin/busybox" "$arm64_busybox.tmp"
  mv "$arm64_busybox.tmp" "$arm64_busybox"
  log "arm64 busybox cached at $arm64_busybox"
}

# Both ways must say aarch64: qemu asked directly, and the kernel's own choice through binfmt_misc.
check_arm64_busybox() {
  local by_qemu direct
  by_qemu=$(qemu-aarch64-static "$arm64_busybox" uname -m)
  direct=$("$arm64_busybox" uname -m)
  if [[ $by_qemu != aarch64 || $direct != aarch64 ]]; then
    log "the arm64 busybox reports '$by_qemu' under qemu-aarch64-static and '$direct' through binfmt_misc, not aarch64"
    exit 1
  fi
}

install_packages
register_qemu_aarch64
cache_arm64_busybox
check_arm64_busybox
log "done"
