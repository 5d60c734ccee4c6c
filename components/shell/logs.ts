import { JOB_PATHS, jobUnit } from "./jobs";
import { FAIL_FUNCTION, LABELS, sayFunction, shQuote } from "./prelude";

export interface LogsArgs {
  readonly app: string;
  readonly hostName: string;
  /** Keep streaming new lines until interrupted. Default: false. */
  readonly follow?: boolean;
  /** Only lines newer than this: a duration such as `10m` or an RFC 3339 time. Default: all. */
  readonly since?: string;
  /** At most this many lines from the end. Default: all. */
  readonly tail?: number;
  /** The output of this scheduled job of the app instead of the app's own (`since` does not apply). */
  readonly job?: string;
}

/** What docker logs accepts for --since that is safe to pass: `90s`, `10m`, `2h`, or an RFC 3339 time. */
export const SINCE =
  /^([0-9]+[smh]|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?)$/;

/**
 * Host side (sh): the logs of the app's container, found by its label rather than its name (a rollout
 * may run two side by side): the running one, or the most recent when none runs (to see why it
 * stopped). Stdout and stderr of the app keep their streams. Fails with one line when the app has no
 * container on the host.
 */
export function logsScript(args: LogsArgs): string {
  if (args.since !== undefined && !SINCE.test(args.since)) {
    throw new Error(`--since must be a duration like 10m, 2h, 90s or an RFC 3339 time, not "${args.since}"`);
  }
  if (args.job !== undefined) return jobLogsScript(args, args.job);
  const options = [
    "--timestamps",
    ...(args.follow ? ["--follow"] : []),
    ...(args.since !== undefined ? [`--since ${shQuote(args.since)}`] : []),
    ...(args.tail !== undefined ? [`--tail ${Math.floor(args.tail)}`] : []),
  ].join(" ");
  const label = shQuote(`label=${LABELS.app}=${args.app}`);
  return `set -eu
${sayFunction(shQuote(args.app), shQuote(args.hostName))}
${FAIL_FUNCTION}
id=$(docker ps -q --filter ${label} --filter status=running | head -n 1)
[ -n "$id" ] || id=$(docker ps -aq --filter ${label} | head -n 1)
[ -n "$id" ] || fail "no container of this app on the host"
exec docker logs ${options} "$id"
`;
}

/**
 * Host side (sh): a job's log, every run between its `== <time> run` and `== exit <status> after <n>s`
 * lines (skipped runs say so); with `follow`, new lines as runs write them.
 */
function jobLogsScript(args: LogsArgs, job: string): string {
  const log = `${JOB_PATHS.state}/${args.app}/${job}.log`;
  const lines = args.tail !== undefined ? `-n ${Math.floor(args.tail)}` : "-n +1";
  return `set -eu
${sayFunction(shQuote(args.app), shQuote(args.hostName))}
${FAIL_FUNCTION}
log=${shQuote(log)}
if [ ! -f "$log" ]; then
  [ -f ${shQuote(`${JOB_PATHS.units}/${jobUnit(args.app, job)}.timer`)} ] || fail ${shQuote(`no job ${job} on the host`)}
  say ${shQuote(`job ${job} has not run yet`)} >&2
  exit 0
fi
exec tail ${lines}${args.follow ? " -F" : ""} "$log"
`;
}
