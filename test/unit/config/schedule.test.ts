import { spawnSync } from "child_process";
import { calendarOf } from "../../../config/schedule";

test.each([
  ["* * * * *", "*-*-* *:*:00"],
  ["*/15 * * * *", "*-*-* *:00,15,30,45:00"],
  ["0 3 * * *", "*-*-* 03:00:00"],
  ["30 2 1 * *", "*-*-01 02:30:00"],
  ["0 9-17/4 * * 1-5", "Mon,Tue,Wed,Thu,Fri *-*-* 09,13,17:00:00"],
  ["5/20 * * * *", "*-*-* *:05,25,45:00"],
  ["0 0 * * 0,7", "Sun *-*-* 00:00:00"],
  ["0 0 * 1,6 *", "*-01,06-* 00:00:00"],
  ["  0 4 * * *  ", "*-*-* 04:00:00"],
  ["@daily", "*-*-* 00:00:00"],
  ["@hourly", "*-*-* *:00:00"],
  ["@weekly", "Mon *-*-* 00:00:00"],
])("%j runs at %j", (schedule, calendar) => {
  expect(calendarOf(schedule)).toBe(calendar);
});

test.each([
  ["0 3 * *", /is not a cron schedule: five fields/],
  ["@reboot", /is not a cron schedule/],
  ["60 * * * *", /minute "60" is outside 0-59/],
  ["0 24 * * *", /hour "24" is outside 0-23/],
  ["0 0 0 * *", /day of month "0" is outside 1-31/],
  ["0 0 * 13 *", /month "13" is outside 1-12/],
  ["0 0 * * 8", /day of week "8" is outside 0-7/],
  ["*/0 * * * *", /minute "\*\/0" has a step of 0/],
  ["10-5 * * * *", /minute "10-5" is outside 0-59/],
  ["0 0 * * MON", /day of week "MON" is not a number/],
  ["0 0 1 * 1", /restricts both the day of month and the day of week/],
])("%j is refused", (schedule, problem) => {
  expect(() => calendarOf(schedule)).toThrow(problem);
});

// systemd itself parses what the hosts' timers get (the machine's systemd-analyze; Debian's hosts run
// the same parser).
const analyze = spawnSync("systemd-analyze", ["--version"]);
if (analyze.status !== 0)
  process.stderr.write("schedule: systemd-analyze is not installed here; its check is SKIPPED\n");
(analyze.status === 0 ? test : test.skip)("systemd accepts every expression the schedules become", () => {
  const expressions = [
    "* * * * *",
    "*/15 * * * *",
    "0 9-17/4 * * 1-5",
    "0 0 * * 0,7",
    "0 0 * 1,6 *",
    "@weekly",
  ].map(calendarOf);
  const result = spawnSync("systemd-analyze", ["calendar", ...expressions], { encoding: "utf8" });
  expect([result.status, result.stderr]).toEqual([0, ""]);
  expect(result.stdout.match(/Next elapse:/g)).toHaveLength(expressions.length);
});
