import * as crypto from "crypto";
import type { ServiceSettings } from "../../../components/service";
import { freshRuntime, MockedRun, noResources, outputValue, runUnderMocks } from "../support/program";
import { fakeTarget, TARGET } from "../support/target";

const HEX = "d".repeat(64);
const REF = `ghcr.io/org/api@sha256:${HEX}`;

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

describe("Service with only a port", () => {
  let run: ServiceRun;
  beforeAll(async () => {
    run = await runService({ port: 3000 });
  });

  test("one remote command named from the service, on the delivery's host", () => {
    expect(
      run.resources
        .filter((r) => r.name.startsWith("api-on-box-service"))
        .map((r) => [r.type, r.name, r.parentName]),
    ).toEqual([
      ["hcloud-deploy:service:Service", "api-on-box-service", undefined],
      ["command:remote:Command", "api-on-box-service-run", "api-on-box-service"],
    ]);
    expect(run.named("api-on-box-service-run").inputs.connection.host).toBe(TARGET.address);
  });

  test("defaults: published on the same port, 256m, 1 CPU, unless-stopped, GET / within 60 s", () => {
    const create = run.named("api-on-box-service-run").inputs.create as string;
    expect(create).toContain("--memory '256m' --cpus '1'");
    expect(create).toContain("--restart 'unless-stopped' -p 3000:3000");
    expect(create).toContain(`image='hcloud-deploy/api:${HEX}'`);
    expect(create).toContain("health check GET / on port 3000 did not pass within 60s");
    expect(run.url).toBe(`http://[${TARGET.address}]:3000/`);
  });

  test("triggers: digest, settings hash, server", () => {
    const settings =
      `{"app":"api","image":"hcloud-deploy/api:${HEX}","port":3000,"hostPort":3000,"memory":"256m",` +
      `"cpus":1,"restart":"unless-stopped","health":{"path":"/","timeoutSeconds":60,"intervalSeconds":2},"env":{}}`;
    expect(run.named("api-on-box-service-run").inputs.triggers).toEqual([
      REF,
      sha12(settings),
      TARGET.serverId,
    ]);
  });

  test("an empty env file on stdin, still secret", async () => {
    const cmd = run.named("api-on-box-service-run");
    expect(cmd.inputs.stdin).toBe("");
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
        env: { MODE: "prod", A: "1" },
        memory: "1g",
        cpus: 2,
        restart: "always",
        health: { path: "/healthz", timeoutSeconds: 9, intervalSeconds: 3 },
      },
      { DATABASE_URL: "postgres://secret-value" },
    );
  });

  test("settings reach the script; the secret does not", () => {
    const create = run.named("api-on-box-service-run").inputs.create as string;
    expect(create).toContain("--memory '1g' --cpus '2'");
    expect(create).toContain("--restart 'always' -p 80:8080");
    expect(create).toContain("health check GET /healthz on port 8080 did not pass within 9s");
    expect(create).toContain("sleep 3");
    expect(create).not.toContain("secret-value");
    expect(run.url).toBe(`http://[${TARGET.address}]:80/`);
  });

  test("plain and secret env in one sorted env file on stdin", () => {
    expect(run.named("api-on-box-service-run").inputs.stdin).toBe(
      "A=1\nDATABASE_URL=postgres://secret-value\nMODE=prod\n",
    );
  });
});

describe("Service pruning and claims", () => {
  let run: ServiceRun;
  beforeAll(async () => {
    run = await runService({ port: 3000, keepImages: 5 });
  });

  test("create prunes the app's old images after the rollout, keeping keepImages and its own", () => {
    const create = run.named("api-on-box-service-run").inputs.create as string;
    expect(create).toContain("keep=5\n");
    expect(create).toContain(`pinned=' hcloud-deploy/api:${HEX} '`);
    expect(create.indexOf("finish() {")).toBeLessThan(create.indexOf("docker image prune -f"));
  });

  test("create claims the container; update converges without a claim; no previous output over SSH", () => {
    const inputs = run.named("api-on-box-service-run").inputs;
    expect(inputs.create).toContain('echo $(( $(cat "$claims" 2>/dev/null || echo 0) + 1 )) > "$claims"');
    expect(inputs.update).toContain('[ -s "$claims" ] || echo 1 > "$claims"');
    expect(inputs.update).not.toContain("+ 1 )) >");
    expect(inputs.addPreviousOutputInEnv).toBe(false);
  });

  test("keepImages is not a setting of the container: it leaves the triggers alone", async () => {
    const other = await runService({ port: 3000, keepImages: 1 });
    expect(other.named("api-on-box-service-run").inputs.triggers).toEqual(
      run.named("api-on-box-service-run").inputs.triggers,
    );
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
