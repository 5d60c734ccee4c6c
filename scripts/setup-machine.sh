#!/usr/bin/env bash
# Installs the Debian packages the local environment (local/) and the tests need.
# Idempotent and quick when everything is present. Never leaves the system's dockerd or an
# sshd on port 22 running: the harness starts its own daemons with their own sockets and state.
set -euo pipefail

# Each package with what the harness or the tests use it for.
packages=(
  docker.io       # dockerd + docker CLI (20.10 on Debian 12)
  tini            # PID 1 of each harness PID namespace (docker.io depends on it, the harness runs it itself)
  openssh-server  # sshd for each simulated host
  openssh-client  # ssh, ssh-keygen
  docker-registry # the local stand-in for GHCR
  apache2-utils   # htpasswd -B (the registry only accepts bcrypt entries)
  busybox-static  # the only binary inside the test images, which are built FROM scratch
  iproute2        # ip netns / veth / addresses
  iptables        # dockerd programs NAT and filter rules inside each host's netns
  util-linux      # nsenter, unshare, setpriv, flock
  procps          # sysctl (per-netns DAD settings), ps
  pigz            # parallel gzip for image transfers
  zstd
  curl
  jq
  haproxy         # the emulator's load balancers: one HAProxy per hcloud Load Balancer, in its own netns
  openssl         # the emulator's managed certificates (self-signed, issued at once)
  caddy           # the host proxy; simulated hosts share the machine's /usr, so it is installed here once
  dnsmasq-base    # a resolver in the root namespace answering a test name (outbound DNS from app containers)
  debootstrap     # the benchmark's realistic image: Debian minbase and python3 root filesystems (cached)
  shellcheck      # the unit suite checks every script the builders produce
)

log() { echo "setup-machine: $*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
  log "must run as root (it installs packages)"
  exit 1
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  log "all ${#packages[@]} packages already installed"
  exit 0
fi

# Maintainer scripts ask invoke-rc.d whether they may start services; exit 101 means "no".
# Keep an existing policy (a container image may ship one) and remove only the one we add.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  log "installing a temporary $policy so postinst scripts start no services"
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi

log "apt-get update"
apt-get update -qq >&2
log "installing: ${missing[*]}"
# No recommends: docker.io would pull in needrestart, which restarts services on its own.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2

# Belt and braces for hosts with a live init system that ignored the policy.
if command -v systemctl >/dev/null && [[ -d /run/systemd/system ]]; then
  for unit in docker.socket docker.service containerd.service ssh.service ssh.socket docker-registry.service haproxy.service caddy.service; do
    if systemctl is-active --quiet "$unit"; then
      log "stopping and disabling $unit (the harness runs its own daemons)"
      systemctl disable --now "$unit" >&2 || true
    fi
  done
fi
log "done"
