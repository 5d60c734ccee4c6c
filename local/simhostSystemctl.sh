#!/bin/bash
# `systemctl` on a simulated host (installed as /usr/local/sbin/systemctl by simhostInit.sh): drives the
# units the host's init supervises, so the product's host scripts run unchanged. Supports start, stop,
# restart, try-restart, reload (docker: SIGHUP, as its ExecReload), enable/disable [--now], is-active,
# is-enabled and daemon-reload (a no-op: units are read at each start).
set -eu
units_dir=/run/simhost
wants=/etc/systemd/system/multi-user.target.wants
verb=${1:-}
[ $# -gt 0 ] && shift
now=false quiet=false units=()
for arg in "$@"; do
  case $arg in
    --now) now=true ;;
    -q | --quiet) quiet=true ;;
    -*) ;;
    *) units+=("${arg%.service}") ;;
  esac
done

pid_of() { cat "$units_dir/$1/pid" 2>/dev/null; }
active() {
  local pid
  pid=$(pid_of "$1") && kill -0 "$pid" 2>/dev/null
}
known() {
  [ -d "$units_dir/$1" ] || {
    echo "Unit $1.service could not be found." >&2
    exit 5
  }
}
start() {
  rm -f "$units_dir/$1/stopped" "$units_dir/$1/failed"
  for _ in $(seq 100); do
    active "$1" && return 0
    sleep 0.1
  done
  echo "Job for $1.service failed." >&2
  return 1
}
stop() {
  local pid
  touch "$units_dir/$1/stopped"
  pid=$(pid_of "$1") || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    active "$1" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

case $verb in
  daemon-reload) exit 0 ;;
esac
[ ${#units[@]} -gt 0 ] || {
  echo "systemctl (simulated host): $verb needs a unit" >&2
  exit 1
}
for unit in "${units[@]}"; do
  known "$unit"
  case $verb in
    start) start "$unit" ;;
    stop) stop "$unit" ;;
    restart) stop "$unit" && start "$unit" ;;
    try-restart) if active "$unit"; then stop "$unit" && start "$unit"; fi ;;
    reload)
      if [ "$unit" = docker ] && active docker; then
        kill -HUP "$(pid_of docker)"
      else
        echo "Failed to reload $unit.service: Job type reload is not applicable for unit $unit.service." >&2
        exit 1
      fi
      ;;
    enable)
      mkdir -p "$wants"
      ln -sfn "/lib/systemd/system/$unit.service" "$wants/$unit.service"
      if $now; then start "$unit"; fi
      ;;
    disable)
      rm -f "$wants/$unit.service"
      if $now; then stop "$unit"; fi
      ;;
    is-active)
      if active "$unit"; then
        $quiet || echo active
      else
        $quiet || echo inactive
        exit 3
      fi
      ;;
    is-enabled)
      if [ -e "$wants/$unit.service" ] || [ "$unit" != caddy ]; then
        $quiet || echo enabled
      else
        $quiet || echo disabled
        exit 1
      fi
      ;;
    *)
      echo "systemctl (simulated host): $verb is not supported" >&2
      exit 1
      ;;
  esac
done
