/**
 * Job schedules: five-field cron syntax (what most people know), turned into the systemd calendar
 * expression (`OnCalendar=`) of the job's timer on the host. Times are the host's clock, UTC on Hetzner's
 * images.
 */

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
}

const FIELDS: readonly Field[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
];

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/** The `@` shortcuts cron knows, as systemd calendar expressions. */
export const SCHEDULE_SHORTCUTS: Readonly<Record<string, string>> = {
  "@hourly": "*-*-* *:00:00",
  "@daily": "*-*-* 00:00:00",
  "@weekly": "Mon *-*-* 00:00:00",
  "@monthly": "*-*-01 00:00:00",
  "@yearly": "*-01-01 00:00:00",
};

/** The values one cron field allows, in order; undefined for `*` (every value). Throws a one-line reason. */
function values(text: string, field: Field): number[] | undefined {
  if (text === "*") return undefined;
  const chosen = new Set<number>();
  for (const part of text.split(",")) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) throw new Error(`${field.name} "${part}" is not a number, a range a-b, * or a step like */5`);
    const [, all, from, to, step] = m;
    let low = all === "*" ? field.min : Number(from);
    // `5/10` in cron means from 5 to the end in steps of 10.
    const high = all === "*" || (to === undefined && step !== undefined) ? field.max : Number(to ?? from);
    if (low < field.min || high > field.max || low > high) {
      throw new Error(`${field.name} "${part}" is outside ${field.min}-${field.max}`);
    }
    const by = step === undefined ? 1 : Number(step);
    if (by < 1) throw new Error(`${field.name} "${part}" has a step of 0`);
    for (; low <= high; low += by) chosen.add(low);
  }
  return [...chosen].sort((a, b) => a - b);
}

const two = (n: number) => String(n).padStart(2, "0");
const list = (v: number[] | undefined) => (v === undefined ? "*" : v.map(two).join(","));

/**
 * `OnCalendar=` of a cron schedule (`m h dom mon dow`, or @hourly/@daily/@weekly/@monthly/@yearly).
 * Cron runs a job when either a restricted day of month or a restricted day of week matches, systemd when
 * both do: a schedule restricting both is refused rather than run on other days than meant.
 */
export function calendarOf(schedule: string): string {
  const shortcut = SCHEDULE_SHORTCUTS[schedule.trim()];
  if (shortcut !== undefined) return shortcut;
  const parts = schedule.trim().split(/\s+/);
  if (parts.length !== 5) {
    throw new Error(
      `"${schedule}" is not a cron schedule: five fields (minute hour day-of-month month day-of-week), ` +
        'such as "0 3 * * *", or @hourly, @daily, @weekly, @monthly, @yearly',
    );
  }
  const [minute, hour, day, month, weekday] = parts.map((p, i) => values(p, FIELDS[i]));
  if (day !== undefined && weekday !== undefined) {
    throw new Error(
      `"${schedule}" restricts both the day of month and the day of week; keep one of them as *`,
    );
  }
  const days = weekday === undefined ? "" : `${[...new Set(weekday.map((d) => WEEKDAYS[d]))].join(",")} `;
  return `${days}*-${list(month)}-${list(day)} ${list(hour)}:${list(minute)}:00`;
}
