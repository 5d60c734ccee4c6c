#!/bin/bash
# The init of a simulated host: runs under tini (PID 1) in the host's own root, which simhostRoot.sh made
# and moved into; $1 is the host name. Its files from the harness are in /run/harness (the host's state
# directory on the machine). It stands in for what systemd does on a VM: units are supervised the way their
# systemd units say: containerd, docker and ssh always, caddy once enabled (systemctl enable). A unit that
# dies is started again; `systemctl` (a shim ahead of the release's own on PATH, see simhostSystemctl.sh)
# starts, stops, restarts, reloads and enables them.
# Differences from systemd (documented in docs/local-stack.md): no socket activation, no sd_notify (`systemctl
# start` returns once the process runs, so callers wait for readiness themselves, as the product's scripts
# do), no PrivateTmp/ProtectSystem sandboxing of caddy.
set -eu
host=$1 state=/run/harness
# The shim lives on a tmpfs, so the host's disk keeps the release's /usr/local/sbin as it was.
mount -t tmpfs -o mode=0755 tmpfs /usr/local/sbin
install -m 0755 "$state/systemctl" /usr/local/sbin/systemctl
mkdir -m 0755 /run/sshd
mkdir -m 0700 /root/.ssh
install -m 0600 "$state/authorized_keys" /root/.ssh/authorized_keys

say() { echo "$(date +%T.%3N) $*" >>"$state/init.log"; }

# The value of KEY in a unit and its drop-ins: the last assignment wins, as in systemd.
# shellcheck disable=SC2317 # start_caddy, called by name, uses it
unit_value() {
  local key=$1 unit=$2
  shopt -s nullglob
  local files=("/lib/systemd/system/$unit.service" "/etc/systemd/system/$unit.service.d/"*.conf)
  shopt -u nullglob
  awk -v key="$key" 'index($0, key "=") == 1 { value = substr($0, length(key) + 2) } END { print value }' "${files[@]}"
}

# shellcheck disable=SC2317 # run_unit calls each start_<unit> by name
start_containerd() { exec containerd; }
# shellcheck disable=SC2317 # run_unit calls it by name
start_docker() {
  # After=containerd.service
  until [ -S /run/containerd/containerd.sock ]; do sleep 0.1; done
  local insecure=()
  while read -r registry || [ -n "$registry" ]; do
    [ -z "$registry" ] || insecure+=(--insecure-registry "$registry")
  done <"$state/insecure-registries"
  exec dockerd -H unix:///run/docker.sock -H "unix://$state/docker.sock" \
    --containerd=/run/containerd/containerd.sock "${insecure[@]}"
}
# shellcheck disable=SC2317 # run_unit calls it by name
start_ssh() { exec /usr/sbin/sshd -D -e -f "$state/sshd_config"; }
# ExecStart, User and RuntimeDirectory from caddy.service and its drop-ins, as systemd would run them.
# shellcheck disable=SC2317 # run_unit calls it by name
start_caddy() {
  local command user runtime home
  command=$(unit_value ExecStart caddy)
  user=$(unit_value User caddy)
  runtime=$(unit_value RuntimeDirectory caddy)
  home=$(getent passwd "$user" | cut -d: -f6)
  if [ -n "$runtime" ]; then install -d -m 0755 -o "$user" -g "$user" "/run/$runtime"; fi
  cd /
  # shellcheck disable=SC2086 # ExecStart is a command line
  exec setpriv --reuid="$user" --regid="$user" --init-groups --inh-caps=+net_bind_service \
    --ambient-caps=+net_bind_service -- env -i HOME="$home" USER="$user" LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin $command
}

# Keeps one unit running while it is wanted. Like systemd's start limit, five starts within ten seconds
# give up: the unit stays failed until `systemctl start`.
run_unit() {
  local name=$1 dir=/run/simhost/$1 pid status starts=()
  while :; do
    if [ -e "$dir/stopped" ]; then
      sleep 0.2
      continue
    fi
    starts+=("$(date +%s)")
    [ ${#starts[@]} -le 5 ] || starts=("${starts[@]:1}")
    if [ ${#starts[@]} -eq 5 ] && [ $((starts[4] - starts[0])) -lt 10 ]; then
      say "$name: start limit hit; failed"
      touch "$dir/failed" "$dir/stopped"
      starts=()
      [ "$name" = caddy ] || exit 1
      continue
    fi
    "start_$name" >>"$state/$name.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/pid"
    say "$name: started as $pid"
    status=0
    wait "$pid" || status=$?
    rm -f "$dir/pid"
    say "$name: exited with status $status"
    [ -e "$dir/stopped" ] || sleep 0.1
  done
}

mkdir -p /run/simhost
for unit in containerd docker ssh caddy; do mkdir -p "/run/simhost/$unit"; done
[ -e /etc/systemd/system/multi-user.target.wants/caddy.service ] || touch /run/simhost/caddy/stopped
say "boot: $host"
# What local-fs.target does before any unit: the fstab's file systems (the apps' Hetzner Volumes among
# them, whose devices the harness linked in before this init); one that cannot be mounted is skipped, as
# nofail makes systemd do.
mount -a 2>>"$state/init.log" || say "boot: mount -a could not mount everything in /etc/fstab"
# What systemd-sysctl does at boot, for the product's file only (other keys may not exist in a namespace).
if [ -f /etc/sysctl.d/60-hcloud-deploy.conf ]; then
  sysctl -q -p /etc/sysctl.d/60-hcloud-deploy.conf 2>>"$state/init.log" || say "boot: sysctl -p failed"
fi
for unit in containerd docker ssh caddy; do run_unit "$unit" & done
# timers.target: the enabled timers (the product's jobs) start ticking again after a reboot.
for timer in /etc/systemd/system/timers.target.wants/*.timer; do
  [ -e "$timer" ] && systemctl start "${timer##*/}" && say "timer ${timer##*/}: started"
done
# Only an essential unit that hit its start limit ends the host: a test gets the logs at once.
wait -n || true
say "an essential unit failed; stopping the host"
exit 1
