import { parseExecArgs } from "../../../ops/exec";
import { parseLogsArgs } from "../../../ops/logs";
import { parseStatusArgs } from "../../../ops/statusCommand";

test.each<[string[], { stack: string; repair: boolean } | string]>([
  [["--stack", "local"], { stack: "local", repair: false }],
  [["--repair", "--stack", "prod"], { stack: "prod", repair: true }],
  [[], "usage: status.ts --stack <stack> [--repair]"],
  [["--stack"], "--stack needs a stack name; usage"],
  [["--stack", "--repair"], "--stack needs a stack name; usage"],
  [["--stack", "dev", "--force"], "usage: status.ts"],
])("status %j", (argv, expected) => {
  if (typeof expected === "string") expect(() => parseStatusArgs(argv)).toThrow(expected);
  else expect(parseStatusArgs(argv)).toEqual(expected);
});

const base = {
  stack: "local",
  app: "web",
  host: undefined,
  follow: false,
  since: undefined,
  tail: undefined,
  job: undefined,
};
test.each<[string[], object | string]>([
  [["--stack", "local", "--app", "web"], base],
  [
    ["--stack", "local", "--app", "web", "--host", "local-2", "--follow", "--since", "10m", "--tail", "20"],
    { ...base, host: "local-2", follow: true, since: "10m", tail: 20 },
  ],
  [["--app", "web"], "usage: logs.ts"],
  [
    ["--stack", "local", "--app", "web", "--since", "yesterday"],
    '--since must be a duration like 10m, 2h, 90s or an RFC 3339 time, not "yesterday"',
  ],
  [["--stack", "local", "--app", "web", "--tail", "all"], '--tail must be a number of lines, not "all"'],
  [["--stack", "local", "--app"], "--app needs a value"],
  [["--stack", "local", "--app", "web", "--grep", "x"], "usage: logs.ts"],
  [
    ["--stack", "local", "--app", "web", "--job", "cleanup", "--tail", "50"],
    { ...base, job: "cleanup", tail: 50 },
  ],
  [
    ["--stack", "local", "--app", "web", "--job", "cleanup", "--since", "10m"],
    "--since does not apply to --job",
  ],
])("logs %j", (argv, expected) => {
  if (typeof expected === "string") expect(() => parseLogsArgs(argv)).toThrow(expected);
  else expect(parseLogsArgs(argv)).toEqual(expected);
});

const execBase = {
  stack: "local",
  app: "db",
  host: undefined,
  fresh: false,
  command: ["psql", "-c", "select 1"],
};
test.each<[string[], object | string]>([
  [["--stack", "local", "--app", "db", "--", "psql", "-c", "select 1"], execBase],
  [
    ["--new", "--stack", "local", "--app", "db", "--host", "local-2", "--", "psql", "-c", "select 1"],
    { ...execBase, host: "local-2", fresh: true },
  ],
  // After --, flags belong to the command.
  [["--stack", "local", "--app", "db", "--", "ls", "--new"], { ...execBase, command: ["ls", "--new"] }],
  [["--stack", "local", "--app", "db"], "no command after --; usage: exec.ts"],
  [["--stack", "local", "--app", "db", "--"], "no command after --; usage: exec.ts"],
  [["--app", "db", "--", "true"], "usage: exec.ts"],
  [["--stack", "local", "--app", "--", "true"], "--app needs a value"],
  [["--stack", "local", "--app", "db", "--tty", "--", "true"], "usage: exec.ts"],
  [["--stack", "local", "--app", "db", "true"], "usage: exec.ts"],
])("exec %j", (argv, expected) => {
  if (typeof expected === "string") expect(() => parseExecArgs(argv)).toThrow(expected);
  else expect(parseExecArgs(argv)).toEqual(expected);
});
