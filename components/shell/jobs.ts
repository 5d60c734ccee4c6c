import { APP_SETTINGS_LINES, likeTheAppOptions } from "./oneOff";
import { FAIL_FUNCTION, sayFunction, shQuote } from "./prelude";
import { EXISTS_FUNCTION } from "./service";

export interface JobSpec {
  readonly app: string;
  readonly hostName: string;
  readonly job: string;
  /** systemd calendar expression of the timer (config/schedule.ts makes it from cron syntax). */
  readonly calendar: string;
  /** Program and arguments, run as written (the program replaces the image's entrypoint). */
  readonly command: readonly string[];
  readonly timeoutSeconds: number;
}

/** Where a job's pieces live on its host. */
export const JOB_PATHS = {
  /** Per app: `<job>.log` (its runs' output), `<job>.last` (the last run, JSON) and `<job>.lock`. */
  state: "/var/lib/hcloud-deploy/jobs",
  /** `<app>.<job>.sh`: what the timer's service runs. */
  scripts: "/usr/local/lib/hcloud-deploy/jobs",
  units: "/etc/systemd/system",
} as const;

/** Lines of output a job's log keeps (the newest), across its runs. */
export const JOB_LOG_LINES = 5000;

/** The systemd unit name (without .service/.timer); app and job names have no dot, so it is unambiguous. */
export function jobUnit(app: string, job: string): string {
  return `hcloud-deploy-${app}.${job}`;
}

/** The oneshot service the timer starts. systemd never starts it while a run is still active. */
export function jobServiceUnit(spec: JobSpec): string {
  return `[Unit]
Description=hcloud-deploy job ${spec.app}/${spec.job}
After=docker.service
Requires=docker.service

[Service]
Type=oneshot
ExecStart=/bin/sh ${JOB_PATHS.scripts}/${spec.app}.${spec.job}.sh
TimeoutStartSec=${spec.timeoutSeconds + 60}
`;
}

export function jobTimerUnit(spec: JobSpec): string {
  return `[Unit]
Description=hcloud-deploy job ${spec.app}/${spec.job}: schedule

[Timer]
OnCalendar=${spec.calendar}
AccuracySec=1s

[Install]
WantedBy=timers.target
`;
}

/**
 * Host side (sh) of one run: a one-off container like the app as it runs now (APP_SETTINGS_LINES, so a
 * deploy needs no job change), for at most timeoutSeconds. A run that finds the one before still going
 * is skipped and says so. Output goes to the job's log between `==` lines; the last run's time, exit
 * status and duration to `<job>.last` for status.
 */
export function jobRunScript(spec: JobSpec): string {
  const [program, ...rest] = spec.command;
  return `# shellcheck disable=SC2016 # the command's words are single-quoted on purpose: $ and \` stay as written
set -u
app=${shQuote(spec.app)} job=${shQuote(spec.job)}
state=${JOB_PATHS.state}/$app
log=$state/$job.log
mkdir -p "$state"
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
exec 9>"$state/$job.lock"
if ! flock -n 9; then
  echo "== $(now) skipped: the run before is still going" >>"$log"
  exit 0
fi
${sayFunction('"$app/$job"', shQuote(spec.hostName))}
${FAIL_FUNCTION}
${EXISTS_FUNCTION}
run() (
  set -e
  exists "$app" || fail "the app has no container on this host to run the job like (deploy it here first)"
${APP_SETTINGS_LINES}  name="$app-job-$job"
  docker rm -f "$name" >/dev/null 2>&1 || true
  status=0
  timeout ${spec.timeoutSeconds} docker run --rm --name "$name" ${likeTheAppOptions("job", `${spec.app}/${spec.job}`)} \\
    --entrypoint ${shQuote(program)} "$image" ${rest.map(shQuote).join(" ")} </dev/null || status=$?
  if [ "$status" -eq 124 ]; then
    docker rm -f "$name" >/dev/null 2>&1 || true
    fail "did not finish within ${spec.timeoutSeconds}s; stopped"
  fi
  exit "$status"
)
started=$(now) start=$(date +%s)
echo "== $started run" >>"$log"
status=0
run >>"$log" 2>&1 || status=$?
took=$(( $(date +%s) - start ))
echo "== exit $status after \${took}s" >>"$log"
printf '{"startedAt":"%s","exitCode":%s,"seconds":%s}\\n' "$started" "$status" "$took" >"$state/$job.last"
tail -n ${JOB_LOG_LINES} "$log" >"$log.new" && mv "$log.new" "$log"
exit "$status"
`;
}

/**
 * Host side (sh) of the AppJob's create and update: writes the run script and both units, then (re)starts
 * the timer, so a changed schedule takes effect at once. A run in progress is left to finish.
 */
export function jobInstallScript(spec: JobSpec): string {
  const unit = jobUnit(spec.app, spec.job);
  return `set -eu
${sayFunction(shQuote(spec.app), shQuote(spec.hostName))}
${FAIL_FUNCTION}
unit=${shQuote(unit)}
mkdir -p ${JOB_PATHS.scripts} ${JOB_PATHS.state}/${shQuote(spec.app)}
# shellcheck disable=SC1003,SC2016 # the run script is one quoted word here, checked on its own
printf '%s' ${shQuote(jobRunScript(spec))} >${JOB_PATHS.scripts}/${shQuote(`${spec.app}.${spec.job}.sh`)}
printf '%s' ${shQuote(jobServiceUnit(spec))} >"${JOB_PATHS.units}/$unit.service"
printf '%s' ${shQuote(jobTimerUnit(spec))} >"${JOB_PATHS.units}/$unit.timer"
systemctl daemon-reload
err=$(systemctl enable "$unit.timer" 2>&1) || fail "cannot enable the job's timer: $err"
err=$(systemctl restart "$unit.timer" 2>&1) || fail "cannot start the job's timer: $err"
next=$(systemd-analyze calendar ${shQuote(spec.calendar)} 2>/dev/null | awk -F': ' '/Next elapse/ { print $2 }') || true
say "job ${spec.job} scheduled ${spec.calendar.replace(/'/g, "")}\${next:+, next run $next}"
`;
}

/** Host side (sh) of the AppJob's delete: the timer and the job's files go; its log stays. */
export function jobRemoveScript(spec: Pick<JobSpec, "app" | "hostName" | "job">): string {
  const unit = jobUnit(spec.app, spec.job);
  return `set -eu
${sayFunction(shQuote(spec.app), shQuote(spec.hostName))}
unit=${shQuote(unit)}
systemctl disable --now "$unit.timer" >/dev/null 2>&1 || true
rm -f "${JOB_PATHS.units}/$unit.timer" "${JOB_PATHS.units}/$unit.service" ${JOB_PATHS.scripts}/${shQuote(`${spec.app}.${spec.job}.sh`)}
systemctl daemon-reload
say "job ${spec.job} removed; its log stays in ${JOB_PATHS.state}/${spec.app}/${spec.job}.log"
`;
}
