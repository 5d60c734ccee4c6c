import * as crypto from "crypto";
import type { ServiceSettings } from "../../../components/service";
import { freshRuntime, MockedRun, noResources, outputValue, runUnderMocks } from "../support/program";
import { hostScriptOf } from "../support/scripts";
import { fakeTarget, TARGET } from "../support/target";

const HEX = "d".repeat(64);
const REF = `ghcr.io/org/api@sha256:${HEX}`;
const ROLLOUT = "api-on-box-service-rollout";

interface ServiceRun extends MockedRun {
  url: string;
}

/** Constructs a tarball Delivery and its Service ("api-on-box") to a fake target under mocks. */
async function runService(
  settings: ServiceSettings,
  secretEnv?: Record<string, string>,
): Promise<ServiceRun> {
  let url: import("@pulumi/pulumi").Output<string> | undefined;
  const run = await runUnderMocks({}, async (pulumi) => {
    const { Delivery } = await import("../../../components/delivery");
    const { Service } = await import("../../../components/service");
    const delivery = new Delivery("api-on-box-delivery", {
      app: "api",
      target: fakeTarget(pulumi),
      imageRef: REF,
      registry: { server: "ghcr.io", username: "bot" },
    });
    url = new Service("api-on-box-service", {
      delivery,
      settings,
      secretEnv: secretEnv && pulumi.secret(secretEnv),
    }).url;
  });
  return { ...run, url: await outputValue(run.pulumi, url!) };
}

const sha12 = (text: string) => crypto.createHash("sha256").update(text).digest("hex").slice(0, 12);
const script = (run: MockedRun) => run.named(ROLLOUT).inputs.environment.HCLOUD_DEPLOY_SCRIPT as string;
const rollout = (run: MockedRun) => hostScriptOf(script(run), "create");

describe("Service with only a port", () => {
  let run: ServiceRun;
  beforeAll(async () => {
    run = await runService({ port: 3000 });
  });

  test("one local command named from the service: the rollout, run over SSH to the delivery's host", () => {
    expect(
      run.resources
        .filter((r) => r.name.startsWith("api-on-box-service"))
        .map((r) => [r.type, r.name, r.parentName]),
    ).toEqual([
      ["hcloud-deploy:service:Service", "api-on-box-service", undefined],
      ["command:local:Command", ROLLOUT, "api-on-box-service"],
    ]);
    expect(script(run)).toContain(`remote() { rsh 0 "$@"; }`);
    expect(script(run)).toContain(`host_addr=('${TARGET.address}')`);
    expect(script(run)).toContain(`host_user=('root')`);
  });

  test("short command lines, the script in the environment, no previous output in it", () => {
    const { inputs } = run.named(ROLLOUT);
    expect({
      ...inputs,
      environment: Object.keys(inputs.environment),
      stdin: undefined,
      triggers: undefined,
    }).toEqual({
      create: 'exec bash -c "$HCLOUD_DEPLOY_SCRIPT" hcloud-deploy create',
      update: 'exec bash -c "$HCLOUD_DEPLOY_SCRIPT" hcloud-deploy update',
      delete: 'exec bash -c "$HCLOUD_DEPLOY_SCRIPT" hcloud-deploy delete',
      interpreter: ["/bin/sh", "-c"],
      environment: ["HCLOUD_DEPLOY_SCRIPT"],
      addPreviousOutputInEnv: false,
      stdin: undefined,
      triggers: undefined,
    });
  });

  test("defaults: no proxy route (the apps' network only), 256m, 1 CPU, unless-stopped, GET / within 60 s", () => {
    const text = rollout(run);
    expect(text).toContain("--restart 'unless-stopped' --init");
    expect(text).toContain("--memory '256m' --cpus '1'");
    expect(text).toContain(`image='hcloud-deploy/api:${HEX}'`);
    expect(text).toContain("health check GET / on port 3000 did not pass within 60s");
    expect(text).toContain("apply_config() { remove_config; }\ndrain() { :; }\n");
    expect(text).not.toContain("listen");
    expect(text).toContain("running, reached on the apps' network as api:3000 (no proxy route)");
    expect(hostScriptOf(script(run), "delete")).toContain('if [ "$instance" != \'');
    expect(run.url).toBe("api:3000");
  });

  test("with a hostPort: the proxy serves it there, checked through the proxy, with a 30 s drain", async () => {
    const routed = await runService({ port: 3000, hostPort: 3000 });
    const text = rollout(routed);
    expect(text).toContain(`"listen":[":3000"]`);
    expect(text).toContain('drain "$old" 30');
    expect(text).toContain("health check GET / through the proxy on port 3000 failed");
    expect(text).toContain("serving on port 3000 through the proxy");
    expect(routed.url).toBe(`http://[${TARGET.address}]:3000/`);
  });

  test("triggers: digest, container settings hash, server", () => {
    const settings =
      `{"app":"api","image":"hcloud-deploy/api:${HEX}","port":3000,"memory":"256m","cpus":1,` +
      `"restart":"unless-stopped","health":{"path":"/","timeoutSeconds":60,"intervalSeconds":2},"env":{}}`;
    expect(run.named(ROLLOUT).inputs.triggers).toEqual([REF, sha12(settings), TARGET.serverId]);
  });

  test("stdin: the deployer's key, then an empty env file; secret", async () => {
    const cmd = run.named(ROLLOUT);
    expect(cmd.inputs.stdin).toBe(TARGET.privateKey);
    expect(await run.pulumi.isSecret(cmd.props.stdin)).toBe(true);
  });
});

describe("Service with every setting and secret env", () => {
  let run: ServiceRun;
  beforeAll(async () => {
    run = await runService(
      {
        port: 8080,
        hostPort: 80,
        domains: ["api.example.com"],
        env: { MODE: "prod", A: "1" },
        memory: "1g",
        cpus: 2,
        restart: "always",
        health: { path: "/healthz", timeoutSeconds: 9, intervalSeconds: 3 },
        drainSeconds: 5,
      },
      { DATABASE_URL: "postgres://secret-value" },
    );
  });

  test("settings reach the script; the secret does not", () => {
    const text = rollout(run);
    expect(text).toContain("--memory '1g' --cpus '2'");
    expect(text).toContain("--restart 'always' --init");
    expect(text).toContain("health check GET /healthz on port 8080 did not pass within 9s");
    expect(text).toContain("sleep 3");
    expect(text).toContain('drain "$old" 5');
    expect(text).toContain('"match":[{"host":["api.example.com"]}]');
    expect(text).toContain("serving on https://api.example.com/ through the proxy");
    expect(script(run)).not.toContain("secret-value");
    expect(run.url).toBe("https://api.example.com/");
  });

  test("key, then plain and secret env in one sorted env file, on stdin", () => {
    expect(run.named(ROLLOUT).inputs.stdin).toBe(
      `${TARGET.privateKey}A=1\nDATABASE_URL=postgres://secret-value\nMODE=prod\n`,
    );
  });
});

describe("Service pruning and claims", () => {
  let run: ServiceRun;
  beforeAll(async () => {
    run = await runService({ port: 3000, keepImages: 5 });
  });

  test("create prunes the app's old images after the rollout, keeping keepImages and its own", () => {
    const create = rollout(run);
    expect(create).toContain("keep=5\n");
    expect(create).toContain(`pinned=' hcloud-deploy/api:${HEX} '`);
    expect(create.indexOf("finish() {")).toBeLessThan(create.indexOf("docker image prune -f"));
  });

  test("create claims the container; update converges without a claim; delete gives the claim back", () => {
    const inputs = run.named(ROLLOUT).inputs;
    const update = hostScriptOf(script(run), "update");
    expect(rollout(run)).toContain('echo $(( $(cat "$claims" 2>/dev/null || echo 0) + 1 )) > "$claims"');
    expect(update).toContain('[ -s "$claims" ] || echo 1 > "$claims"');
    expect(update).not.toContain("+ 1 )) >");
    expect(hostScriptOf(script(run), "delete")).toContain(
      'left=$(( $(cat "$claims" 2>/dev/null || echo 1) - 1 ))',
    );
    expect([inputs.create, inputs.update, inputs.delete]).toEqual([
      'exec bash -c "$HCLOUD_DEPLOY_SCRIPT" hcloud-deploy create',
      'exec bash -c "$HCLOUD_DEPLOY_SCRIPT" hcloud-deploy update',
      'exec bash -c "$HCLOUD_DEPLOY_SCRIPT" hcloud-deploy delete',
    ]);
    expect(inputs.addPreviousOutputInEnv).toBe(false);
  });

  test("keepImages is not a setting of the container: it leaves the triggers alone", async () => {
    const other = await runService({ port: 3000, keepImages: 1 });
    expect(other.named(ROLLOUT).inputs.triggers).toEqual(run.named(ROLLOUT).inputs.triggers);
  });

  test.each([0, 2.5])("keepImages %p is refused before anything is registered", async (keepImages) => {
    // The mocks refuse every resource, so the constructor must throw before registering one.
    await freshRuntime({}, "dev", noResources);
    const { Service } = await import("../../../components/service");
    const delivery = {} as import("../../../components/delivery").Delivery;
    expect(
      () => new Service("api-on-box-service", { delivery, settings: { port: 3000, keepImages } }),
    ).toThrow(
      `Service api-on-box-service: keepImages must be a whole number of at least 1, not ${keepImages}`,
    );
  });
});
