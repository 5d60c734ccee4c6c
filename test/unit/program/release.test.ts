// Release commands under mocks: a resource of their own on the app's first host, run once per new image
// or settings change, and every host's rollout of the app waits for it.
import { ProgramRun, runProgram, stackConfig } from "../support/program";
import { hostScriptOf } from "../support/scripts";

const DEV_APPS = [
  { name: "web", hosts: ["web-1", "web-2"], build: { context: "apps/web" }, port: 8080, hostPort: 80 },
  {
    name: "api",
    hosts: ["web-2", "web-1"],
    build: { context: "apps/api" },
    port: 8080,
    env: { LOG: "info" },
    secretEnv: ["DATABASE_URL"],
    release: { command: ["./migrate", "up"], timeoutSeconds: 120 },
  },
];

describe("an app with a release command", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(stackConfig("dev", { "hcloud-deploy:apps": DEV_APPS }));
  });

  test("one ReleaseCommand for the app, none for the others", () => {
    expect(run.ofType("hcloud-deploy:release:ReleaseCommand").map((r) => r.name)).toEqual(["api-release"]);
    expect(run.named("api-release-run").parentName).toBe("api-release");
  });

  test("it runs on the app's first host, from that host's image, with the env file on stdin", () => {
    const cmd = run.named("api-release-run").inputs;
    const script = hostScriptOf(cmd.environment.HCLOUD_DEPLOY_SCRIPT, "create");
    expect(script).toContain("hcloud-deploy: %s on %s: %s\\n' \"$app\" 'web-2'");
    expect(script).toContain(`--entrypoint './migrate' "$image" 'up' >"$log" 2>&1 || status=$?`);
    expect(script).toContain("timeout 120 docker run");
    expect(cmd.stdin).toContain("DATABASE_URL=postgres://db-secret-value\nLOG=info\n");
    // Only a new image or settings run it again: no server among the triggers, and an update runs nothing.
    expect(cmd.triggers).toEqual([
      run.named("api-on-web-2-delivery-load").inputs.triggers[0],
      expect.stringMatching(/^[0-9a-f]{12}$/),
    ]);
    expect(cmd.update).toBe("true");
  });

  test("every rollout of the app waits for it; other apps do not", () => {
    const waitsFor = (name: string) =>
      ((run.named(name).opts.dependsOn ?? []) as { __name?: string }[]).map((r) => r.__name);
    expect(waitsFor("api-on-web-2-service")).toEqual(["api-release"]);
    // The second host also waits for the first, one host at a time.
    expect(waitsFor("api-on-web-1-service")).toEqual(["api-on-web-2-service", "api-release"]);
    expect(waitsFor("web-on-web-1-service")).toEqual([]);
  });
});

describe("an app after another (`after`): its release and rollouts wait for that app's rollouts", () => {
  let run: ProgramRun;
  const waitsFor = (name: string) =>
    ((run.named(name).opts.dependsOn ?? []) as { __name?: string }[]).map((r) => r.__name);
  beforeAll(async () => {
    const [web, api] = DEV_APPS;
    const withAfter = [
      { ...web, hosts: ["web-1"] },
      { ...api, hosts: ["web-2"], after: ["web"] },
      { name: "worker", hosts: ["web-2"], build: { context: "apps/api" }, port: 9000, after: ["web", "api"] },
    ];
    run = await runProgram(stackConfig("dev", { "hcloud-deploy:apps": withAfter }));
  });

  test("with a release command, the release waits, and the rollout waits for the release", () => {
    expect(waitsFor("api-release")).toEqual(["web-on-web-1-service"]);
    expect(waitsFor("api-on-web-2-service")).toEqual(["api-release"]);
  });

  test("without one, the rollouts wait for every service of the apps named", () => {
    expect(waitsFor("worker-on-web-2-service")).toEqual(["web-on-web-1-service", "api-on-web-2-service"]);
  });

  test("the first app waits for nothing", () => {
    expect(waitsFor("web-on-web-1-service")).toEqual([]);
  });
});
