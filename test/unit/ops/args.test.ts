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
])("logs %j", (argv, expected) => {
  if (typeof expected === "string") expect(() => parseLogsArgs(argv)).toThrow(expected);
  else expect(parseLogsArgs(argv)).toEqual(expected);
});
