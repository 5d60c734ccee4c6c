/**
 * An app's container logs, from every host that runs it (or one), over the pinned-key SSH prelude:
 *
 *   npm run logs -- --stack <stack> --app <app> [--host <host>] [--job <job>] [--follow] [--since 10m] [--tail N]
 *
 * With several hosts, each line starts with `[<host>] `. The app's stderr stays on stderr. With `--job`,
 * the output of the app's scheduled job on the host that runs it.
 */
import { LogsArgs, logsScript, SINCE } from "../components/shell/logs";
import { overSsh } from "../components/shell/report";
import { DesiredHost, desiredHosts, hostsOfApp } from "./desired";
import { callHost, HostCall } from "./hostCall";
import { deployerPrivateKey, OpsError, stackCli, stackOutputs } from "./stackCli";

const USAGE =
  "usage: logs.ts --stack <stack> --app <app> [--host <host>] [--job <job>] [--follow] [--since <10m|RFC 3339>] [--tail <n>]";

export interface LogsCommandArgs {
  readonly stack: string;
  readonly app: string;
  readonly host: string | undefined;
  readonly follow: boolean;
  readonly since: string | undefined;
  readonly tail: number | undefined;
  readonly job: string | undefined;
}

export function parseLogsArgs(argv: readonly string[]): LogsCommandArgs {
  const args = [...argv];
  const values: Record<string, string> = {};
  let follow = false;
  while (args.length > 0) {
    const flag = args.shift() as string;
    if (flag === "--follow" || flag === "-f") {
      follow = true;
      continue;
    }
    const name = flag.replace(/^--/, "");
    const value = args.shift();
    if (!["stack", "app", "host", "since", "tail", "job"].includes(name) || !flag.startsWith("--")) {
      throw new OpsError(USAGE);
    }
    if (value === undefined || value.startsWith("-")) throw new OpsError(`${flag} needs a value; ${USAGE}`);
    values[name] = value;
  }
  if (values.stack === undefined || values.app === undefined) throw new OpsError(USAGE);
  if (values.since !== undefined && !SINCE.test(values.since)) {
    throw new OpsError(
      `--since must be a duration like 10m, 2h, 90s or an RFC 3339 time, not "${values.since}"`,
    );
  }
  if (values.job !== undefined && values.since !== undefined) {
    throw new OpsError("--since does not apply to --job: a job's log has its runs' times on their == lines");
  }
  if (values.tail !== undefined && !/^[0-9]+$/.test(values.tail)) {
    throw new OpsError(`--tail must be a number of lines, not "${values.tail}"`);
  }
  return {
    stack: values.stack,
    app: values.app,
    host: values.host,
    follow,
    since: values.since,
    tail: values.tail === undefined ? undefined : Number(values.tail),
    job: values.job,
  };
}

/** The hosts that run the app's job (its first host); one line naming the app's jobs when none does. */
function hostsOfJob(hosts: readonly DesiredHost[], app: string, job: string): DesiredHost[] {
  const jobsOf = (h: DesiredHost) => h.apps.find((a) => a.app === app)?.jobs ?? [];
  const running = hosts.filter((h) => jobsOf(h).some((j) => j.name === job));
  if (running.length === 0) {
    const names = [...new Set(hosts.flatMap((h) => jobsOf(h).map((j) => j.name)))].sort();
    throw new OpsError(`app ${app} has no job ${job} (jobs: ${names.join(", ") || "none"})`);
  }
  return running;
}

/** Runs the command; resolves to the exit code (0 when every host answered, or on interruption). */
export async function logs(argv: readonly string[]): Promise<number> {
  const args = parseLogsArgs(argv);
  const cli = stackCli(args.stack);
  const ofApp = hostsOfApp(cli.stack, desiredHosts(cli.stack, await stackOutputs(cli)), args.app, args.host);
  const hosts = args.job === undefined ? ofApp : hostsOfJob(ofApp, args.app, args.job);
  const key = await deployerPrivateKey(cli);
  let interrupted = false;
  const calls: HostCall[] = hosts.map((h) => {
    const prefix = hosts.length > 1 ? `[${h.name}] ` : "";
    const script: LogsArgs = { ...args, app: args.app, hostName: h.name };
    return callHost(
      overSsh(
        { address: h.address, port: 22, user: "root", hostKey: h.hostKey },
        h.name,
        args.app,
        logsScript(script),
      ),
      key,
      (stream, line) => {
        if (!line.startsWith("hcloud-deploy: "))
          (stream === "stdout" ? process.stdout : process.stderr).write(`${prefix}${line}\n`);
      },
    );
  });
  const stop = () => {
    interrupted = true;
    for (const c of calls) c.stop();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const results = await Promise.all(calls.map((c) => c.done));
  process.removeListener("SIGINT", stop);
  process.removeListener("SIGTERM", stop);
  if (interrupted) return 0;
  const failures = results.flatMap((r) => (r.failure === undefined ? [] : [r.failure]));
  for (const f of failures) process.stderr.write(`${f}\n`);
  return failures.length === 0 ? 0 : 1;
}
