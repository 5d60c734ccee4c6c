// Scheduled jobs on a simulated host, with the very scripts `pulumi up` and the day-2 commands run: the
// AppJob's `<app>-job-<job>-timer` command installs a systemd timer (the simulated host's systemctl runs
// timers from their OnCalendar, as systemd does), each run is a one-off container like the app (its env
// and volume), a run that finds the one before still going is skipped, a run over its timeout is
// stopped, status reports the last run and `logs --job` the output; deleting the resource removes the
// timer and keeps the log. Needs root and setup-machine.sh.
import { overSshScript } from "../../components/shell/deployerCommand";
import { jobInstallScript, jobRemoveScript, JobSpec } from "../../components/shell/jobs";
import { logsScript } from "../../components/shell/logs";
import { overSsh, reportScript } from "../../components/shell/report";
import { parseHostReport } from "../../ops/desired";
import { callHost } from "../../ops/hostCall";
import { runCommand, ServingRig, startApiWithVolume, stopServingRig } from "./serving";
import { deployerKey, TestHost } from "./support";

let rig: ServingRig;
let host: TestHost;

const job = (name: string, calendar: string, script: string, timeoutSeconds = 60): JobSpec => ({
  app: "api",
  hostName: host.sim.name,
  job: name,
  calendar,
  command: ["/bin/busybox", "sh", "-c", script],
  timeoutSeconds,
});

/** The AppJob's command, in the mode Pulumi runs it in. */
function timer(spec: JobSpec, mode: "create" | "delete" = "create") {
  const script = overSshScript({
    subject: "api",
    hostName: spec.hostName,
    target: host.target,
    create: jobInstallScript(spec),
    delete: jobRemoveScript(spec),
  });
  return runCommand(script, mode, `${deployerKey.privateKey.trimEnd()}\n`);
}

const runLines = async (name: string) =>
  (
    await host.sim.exec(`grep -c '^== .* run$' /var/lib/hcloud-deploy/jobs/api/${name}.log || true`)
  ).stdout.trim();

async function waitFor(what: string, seconds: number, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${seconds}s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function jobLogs(name: string): Promise<string> {
  const call = await callHost(
    overSsh(
      host.target,
      host.sim.name,
      "api",
      logsScript({ app: "api", hostName: host.sim.name, job: name }),
    ),
    deployerKey.privateKey,
  ).done;
  expect(call.code).toBe(0);
  return call.stdout;
}

beforeAll(async () => {
  rig = await startApiWithVolume({ name: "it-jobs", address: "fd5e:0:0:b3::1" });
  host = rig.host;
}, 300_000);

afterAll(() => stopServingRig(rig), 120_000);

test("a job every minute runs from its timer, like the app (env, volume), and logs --job shows it", async () => {
  const tick = job("tick", "*-*-* *:*:00", 'echo "tick $GREETING"; date +%s >> /data/ticks');
  const installed = await timer(tick);
  expect([installed.code, installed.stderr]).toEqual([0, ""]);
  expect(installed.stdout).toMatch(
    /^hcloud-deploy: api on it-jobs: job tick scheduled \*-\*-\* \*:\*:00, next run \w{3} \d{4}-\d\d-\d\d \d\d:\d\d:00 UTC\n$/,
  );
  await waitFor("the timer did not run the job", 75, async () => Number(await runLines("tick")) >= 1);
  // Started by hand, as `systemctl start` does on a VM: one more run.
  expect((await host.sim.exec("systemctl start hcloud-deploy-api.tick.service")).code).toBe(0);
  const runs = Number(await runLines("tick"));
  process.stdout.write(`job: api/tick ran ${runs} times\n`);
  expect(runs).toBeGreaterThanOrEqual(2);
  const log = await jobLogs("tick");
  expect(log.match(/^tick hello from the env file$/gm)).toHaveLength(runs);
  expect(log).toMatch(
    /^== \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ run\ntick hello from the env file\n== exit 0 after \d+s$/m,
  );
  // The volume is the app's: the runs wrote into it.
  const ticks = await host.sim.exec("docker exec api /bin/busybox cat /data/ticks");
  expect(ticks.stdout.trim().split("\n")).toHaveLength(runs);
  // No container is left from the runs.
  expect((await host.sim.exec("docker ps -aq --filter name=api-job-")).stdout).toBe("");
  const report = await callHost(
    overSsh(
      host.target,
      host.sim.name,
      "status",
      reportScript({ proxySocket: "/run/caddy/admin.sock", checks: [], jobs: [{ app: "api", job: "tick" }] }),
    ),
    deployerKey.privateKey,
  ).done;
  const [status] = parseHostReport(host.sim.name, report.stdout).jobs ?? [];
  expect([status.installed, status.last?.exitCode]).toEqual([true, 0]);
}, 120_000);

test("a run that finds the one before still going is skipped", async () => {
  const slow = job("slow", "*-01-01 00:00:00", "echo started; sleep 4; echo done");
  expect((await timer(slow)).code).toBe(0);
  const both = await host.sim.exec(
    "sh /usr/local/lib/hcloud-deploy/jobs/api.slow.sh & sleep 1; sh /usr/local/lib/hcloud-deploy/jobs/api.slow.sh; wait",
  );
  expect(both.code).toBe(0);
  const log = await jobLogs("slow");
  const runs = (log.match(/^== .* run$/gm) ?? []).length;
  const skipped = (log.match(/^== .* skipped: the run before is still going$/gm) ?? []).length;
  process.stdout.write(`job: api/slow ran ${runs} times, skipped ${skipped} (overlap)\n`);
  expect([runs, skipped, (log.match(/^done$/gm) ?? []).length]).toEqual([1, 1, 1]);
}, 60_000);

test("a run over its timeout is stopped, fails in one line, and leaves no container", async () => {
  const hung = job("hung", "*-01-01 00:00:00", "echo waiting; sleep 60", 2);
  expect((await timer(hung)).code).toBe(0);
  const run = await host.sim.exec("sh /usr/local/lib/hcloud-deploy/jobs/api.hung.sh");
  expect(run.code).toBe(1);
  const log = await jobLogs("hung");
  expect(log).toMatch(
    /^waiting\nhcloud-deploy: api\/hung on it-jobs: did not finish within 2s; stopped\n== exit 1 after \d+s$/m,
  );
  expect((await host.sim.exec("docker ps -aq --filter name=api-job-hung")).stdout).toBe("");
  expect((await host.sim.exec("cat /var/lib/hcloud-deploy/jobs/api/hung.last")).stdout).toMatch(
    /"exitCode":1,/,
  );
}, 60_000);

test("deleting the job removes its timer and units; its log stays", async () => {
  const tick = job("tick", "*-*-* *:*:00", "true");
  const removed = await timer(tick, "delete");
  expect([removed.code, removed.stdout]).toEqual([
    0,
    "hcloud-deploy: api on it-jobs: job tick removed; its log stays in /var/lib/hcloud-deploy/jobs/api/tick.log\n",
  ]);
  expect((await host.sim.exec("systemctl is-active hcloud-deploy-api.tick.timer")).code).not.toBe(0);
  expect(
    (
      await host.sim.exec("ls /etc/systemd/system/hcloud-deploy-api.tick.* 2>/dev/null | wc -l")
    ).stdout.trim(),
  ).toBe("0");
  expect((await host.sim.exec("test -s /var/lib/hcloud-deploy/jobs/api/tick.log")).code).toBe(0);
});
