#!/bin/bash
# `systemctl` on a simulated host (installed as /usr/local/sbin/systemctl by simhostInit.sh): drives the
# units the host's init supervises, so the product's host scripts run unchanged. Supports start, stop,
# restart, try-restart, reload (docker: SIGHUP, as its ExecReload), enable/disable [--now], is-active,
# is-enabled and daemon-reload (a no-op: units are read at each start). Units of /etc/systemd/system
# (the product's jobs) are oneshot services, started in the foreground, and timers: a timer is a loop
# that sleeps until the next time systemd-analyze gives for its OnCalendar and then starts its service,
# unless that service is still active (as systemd does).
set -eu
units_dir=/run/simhost
wants=/etc/systemd/system/multi-user.target.wants
timer_wants=/etc/systemd/system/timers.target.wants
verb=${1:-}
[ $# -gt 0 ] && shift
now=false quiet=false units=()
for arg in "$@"; do
  case $arg in
    --now) now=true ;;
    -q | --quiet) quiet=true ;;
    -*) ;;
    *.timer) units+=("$arg") ;;
    *) units+=("${arg%.service}") ;;
  esac
done

pid_of() { cat "$units_dir/$1/pid" 2>/dev/null; }
active() {
  local pid
  pid=$(pid_of "$1") && kill -0 "$pid" 2>/dev/null
}
own_unit() { [ -f "/etc/systemd/system/$1" ] || [ -f "/etc/systemd/system/$1.service" ]; }
known() {
  if own_unit "$1"; then mkdir -p "$units_dir/$1"; fi
  [ -d "$units_dir/$1" ] || {
    echo "Unit $1.service could not be found." >&2
    exit 5
  }
}
# A oneshot service of /etc/systemd/system: its ExecStart in the foreground, once at a time.
run_oneshot() {
  local unit=$1 command status=0
  while active "$unit"; do sleep 0.2; done
  command=$(awk 'index($0, "ExecStart=") == 1 { print substr($0, 11) }' "/etc/systemd/system/$unit.service")
  # shellcheck disable=SC2086 # ExecStart is a command line
  { $command; } 9>&- &
  echo $! >"$units_dir/$unit/pid"
  wait $! || status=$?
  rm -f "$units_dir/$unit/pid"
  return "$status"
}
# The loop behind a started timer (run detached by start_timer).
timer_loop() {
  local timer=$1 calendar next due
  calendar=$(awk 'index($0, "OnCalendar=") == 1 { print substr($0, 12) }' "/etc/systemd/system/$timer")
  while :; do
    next=$(systemd-analyze calendar "$calendar" 2>/dev/null | awk -F': ' '/Next elapse/ { print $2 }')
    # A calendar with no next time (or no systemd-analyze) never fires, as in systemd.
    if [ -z "$next" ] || ! due=$(date -d "$next" +%s 2>/dev/null); then
      sleep 3600
      continue
    fi
    sleep $((due - $(date +%s) > 0 ? due - $(date +%s) : 0))
    # A session of its own: stopping the timer leaves a run to finish, as in systemd.
    active "${timer%.timer}" || setsid "$0" start "${timer%.timer}" </dev/null >/dev/null 2>&1 &
    sleep 1
  done
}
start_timer() {
  active "$1" && return 0
  setsid "$0" __timer "$1" </dev/null >/dev/null 2>&1 &
  echo $! >"$units_dir/$1/pid"
}
start() {
  case $1 in
    *.timer) start_timer "$1"; return ;;
  esac
  if own_unit "$1"; then
    run_oneshot "$1"
    return
  fi
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
  case $1 in
    # The loop and its sleep: a process group of their own (start_timer).
    *.timer) kill -TERM -- "-$pid" 2>/dev/null || true ;;
    *) kill -TERM "$pid" 2>/dev/null || true ;;
  esac
  for _ in $(seq 100); do
    active "$1" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

case $verb in
  daemon-reload) exit 0 ;;
  __timer) timer_loop "${units[0]}" ;;
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
      case $unit in
        *.timer) mkdir -p "$timer_wants" && ln -sfn "/etc/systemd/system/$unit" "$timer_wants/$unit" ;;
        *) mkdir -p "$wants" && ln -sfn "/lib/systemd/system/$unit.service" "$wants/$unit.service" ;;
      esac
      if $now; then start "$unit"; fi
      ;;
    disable)
      rm -f "$wants/$unit.service" "$timer_wants/$unit"
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
