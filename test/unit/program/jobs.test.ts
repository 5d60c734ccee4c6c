// Scheduled jobs under mocks: one AppJob per job, on the app's first host, after the app's service there;
// the stack outputs name them for status and logs.
import { ProgramRun, runProgram, stackConfig } from "../support/program";
import { hostScriptOf } from "../support/scripts";

const APPS = [
  { name: "web", hosts: ["web-1", "web-2"], build: { context: "apps/web" }, port: 8080, hostPort: 80 },
  {
    name: "api",
    hosts: ["web-2", "web-1"],
    build: { context: "apps/api" },
    port: 8080,
    jobs: [
      { name: "cleanup", schedule: "0 3 * * *", command: ["./cleanup", "--days", "30"] },
      { name: "report", schedule: "@hourly", command: ["./report"], timeoutSeconds: 120 },
    ],
  },
];

describe("an app with jobs", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(stackConfig("dev", { "hcloud-deploy:apps": APPS }));
  });

  test("one AppJob per job, each with its timer command", () => {
    expect(run.ofType("hcloud-deploy:job:AppJob").map((r) => r.name)).toEqual([
      "api-job-cleanup",
      "api-job-report",
    ]);
    expect(run.named("api-job-cleanup-timer").parentName).toBe("api-job-cleanup");
  });

  test("on the app's first host, after its service there, installing the unit the schedule becomes", () => {
    const cmd = run.named("api-job-cleanup-timer").inputs;
    const create = hostScriptOf(cmd.environment.HCLOUD_DEPLOY_SCRIPT, "create");
    expect(create).toContain("say() { printf 'hcloud-deploy: %s on %s: %s\\n' 'api' 'web-2' \"$*\"; }");
    expect(create).toContain("OnCalendar=*-*-* 03:00:00");
    expect(create).toContain("timeout 3600 docker run");
    expect(create).toContain(`--entrypoint '\\''./cleanup'\\'' "$image" '\\''--days'\\'' '\\''30'\\''`);
    const remove = hostScriptOf(cmd.environment.HCLOUD_DEPLOY_SCRIPT, "delete");
    expect(remove).toContain('systemctl disable --now "$unit.timer"');
    expect(cmd.triggers).toEqual(["web-2-server-id"]);
    const waitsFor = ((run.named("api-job-cleanup").opts.dependsOn ?? []) as { __name?: string }[]).map(
      (r) => r.__name,
    );
    expect(waitsFor).toEqual(["api-on-web-2-service"]);
    expect(
      hostScriptOf(run.named("api-job-report-timer").inputs.environment.HCLOUD_DEPLOY_SCRIPT, "create"),
    ).toContain("timeout 120 docker run");
  });

  test("hostApps lists the jobs under the app on its first host only", () => {
    const hostApps = run.outputs.hostApps as Record<string, Record<string, { jobs?: unknown }>>;
    expect(hostApps["web-2"].api.jobs).toEqual([
      { name: "cleanup", schedule: "0 3 * * *" },
      { name: "report", schedule: "@hourly" },
    ]);
    expect("jobs" in hostApps["web-1"].api).toBe(false);
    expect("jobs" in hostApps["web-1"].web).toBe(false);
  });
});
