import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { hostTagOf } from "../../../components/shell/prelude";
import { deployerKey, ProgramRun, runProgram, stackConfig } from "../support/program";
import { fakeImage } from "../support/fakeRegistry";
import { hostScriptOf } from "../support/scripts";

const SECRETS = [
  "push-token-value",
  "pull-token-value",
  "postgres://db-secret-value",
  deployerKey.sshPrivateKey,
];
const digestRef = (app: string) => fakeImage(`ghcr.io/example-org/${app}`, ["linux/amd64"]);

describe("apps under mocks, Pulumi.dev.yaml (tarball delivery)", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(stackConfig("dev"));
  });

  test("one image per app, one delivery and one service per app and host", () => {
    expect(run.ofType("docker:index/image:Image").map((r) => r.name)).toEqual(["web-image", "api-image"]);
    expect(run.ofType("hcloud-deploy:delivery:Delivery").map((r) => r.name)).toEqual([
      "web-on-web-1-delivery",
      "web-on-web-2-delivery",
      "api-on-web-2-delivery",
    ]);
    expect(run.ofType("command:local:Command").map((r) => r.name)).toEqual([
      "web-1-proxy",
      "web-2-proxy",
      "web-fan-out-ship",
      "web-on-web-1-delivery-load",
      "web-on-web-2-delivery-load",
      "web-on-web-1-service-rollout",
      "web-on-web-2-service-rollout",
      "api-on-web-2-delivery-load",
      "api-on-web-2-service-rollout",
    ]);
    expect(run.ofType("hcloud-deploy:service:Service").map((r) => r.name)).toEqual([
      "web-on-web-1-service",
      "web-on-web-2-service",
      "api-on-web-2-service",
    ]);
    expect(run.ofType("command:remote:Command").map((r) => r.name)).toEqual(["web-1-ready", "web-2-ready"]);
  });

  test("images are built for linux/amd64 and pushed with the push token, tagged commit-stack", () => {
    const web = run.named("web-image").inputs;
    expect(web.imageName).toMatch(
      /^ghcr\.io\/example-org\/web:[0-9a-f]{7,}-dev$|^ghcr\.io\/example-org\/web:untracked-dev$/,
    );
    expect(web.build).toMatchObject({
      context: "apps/web",
      dockerfile: "apps/web/Dockerfile",
      platform: "linux/amd64",
    });
    expect(web.registry).toEqual({
      server: "ghcr.io",
      username: "example-bot",
      password: "push-token-value",
    });
  });

  test("in tarball mode no host command input holds a registry credential", () => {
    const hostCommands = [...run.ofType("command:remote:Command"), ...run.ofType("command:local:Command")];
    // The deployer's side of a delivery gets the pull token on stdin, for a pull to the deployer only.
    const deployerSides = (name: string) => name.endsWith("-delivery-load") || name.endsWith("-fan-out-ship");
    for (const cmd of hostCommands.filter((c) => !deployerSides(c.name))) {
      const text = JSON.stringify(cmd.inputs);
      for (const token of ["push-token-value", "pull-token-value"]) {
        expect([cmd.name, text.includes(token)]).toEqual([cmd.name, false]);
      }
    }
  });

  test("an app secret reaches its host only in the service's stdin", () => {
    for (const cmd of [...run.ofType("command:remote:Command"), ...run.ofType("command:local:Command")]) {
      const { connection: _connection, stdin, ...rest } = cmd.inputs;
      expect([cmd.name, JSON.stringify(rest).includes("db-secret-value")]).toEqual([cmd.name, false]);
      const expected = cmd.name === "api-on-web-2-service-rollout";
      expect([cmd.name, String(stdin).includes("db-secret-value")]).toEqual([cmd.name, expected]);
    }
  });

  test("tarball deliveries: the script holds no secret; key and nothing else on stdin; triggers are digest and server", async () => {
    const repoDigest = run.outputs.appImages as Record<string, string>;
    const loads = run.ofType("command:local:Command").filter((r) => r.name.endsWith("-load"));
    expect(loads).toHaveLength(3);
    for (const load of loads) {
      const host = load.name.includes("web-1") ? "web-1" : "web-2";
      const app = load.name.split("-on-")[0];
      const script: string = load.inputs.environment.HCLOUD_DEPLOY_SCRIPT;
      expect(load.inputs.create).toBe('exec bash -c "$HCLOUD_DEPLOY_SCRIPT" hcloud-deploy');
      for (const secret of SECRETS) expect(script).not.toContain(secret);
      expect(script).toContain(`ref='${repoDigest[app]}'`);
      expect(script).toContain(`host_tag='${hostTagOf(app, repoDigest[app])}'`);
      expect(script).toContain(`host_name=('${host}')`);
      expect(load.inputs.stdin).toBe(`${deployerKey.sshPrivateKey.trimEnd()}\npull-token-value\n`);
      expect(await pulumi.isSecret(load.props.stdin)).toBe(true);
      expect(load.inputs.triggers).toEqual([repoDigest[app], `${host}-server-id`]);
    }
  });

  test("web, on two hosts, goes to both at once first; each host's delivery waits for that", async () => {
    const repoDigest = run.outputs.appImages as Record<string, string>;
    const ship = run.named("web-fan-out-ship");
    const script: string = ship.inputs.environment.HCLOUD_DEPLOY_SCRIPT;
    expect(script).toContain("host_name=('web-1' 'web-2')");
    expect(script).toContain("parallelism=8 leave_failures=1");
    for (const secret of SECRETS) expect(script).not.toContain(secret);
    expect(ship.inputs.stdin).toBe(`${deployerKey.sshPrivateKey.trimEnd()}\npull-token-value\n`);
    expect(await pulumi.isSecret(ship.props.stdin)).toBe(true);
    expect(ship.inputs.triggers).toEqual([repoDigest.web, "web-1-server-id", "web-2-server-id"]);
    // The relays need the firewall rules that let the hosts reach each other's SSH.
    expect((ship.opts.dependsOn as { __name?: string }[]).map((d) => d.__name)).toEqual([
      "web-1-firewall",
      "web-2-firewall",
    ]);
    expect(run.named("web-fan-out").parentName).toBeUndefined();
    for (const host of ["web-1", "web-2"]) {
      const dependsOn = run.named(`web-on-${host}-delivery-load`).opts.dependsOn as { __name?: string }[];
      expect(dependsOn.map((d) => d.__name)).toEqual(["web-fan-out"]);
    }
    expect(run.named("api-on-web-2-delivery-load").opts.dependsOn).toEqual([]);
  });

  test("services: key and env file on stdin (secret), container settings and digest as triggers", async () => {
    const images = run.outputs.appImages as Record<string, string>;
    const key = deployerKey.sshPrivateKey.trimEnd();
    const api = run.named("api-on-web-2-service-rollout");
    expect(api.inputs.stdin).toBe(`${key}\nDATABASE_URL=postgres://db-secret-value\n`);
    expect(await pulumi.isSecret(api.props.stdin)).toBe(true);
    const script = api.inputs.environment.HCLOUD_DEPLOY_SCRIPT as string;
    expect(script).not.toContain("db-secret-value");
    expect(hostScriptOf(script, "delete")).toContain(
      "locked remove_config\nreplica_list | xargs -r docker rm -f >/dev/null\nremove_next\n",
    );
    // The settings hash covers what the container runs with, in this order (spelled out, not recomputed).
    const settings =
      `{"app":"api","image":"hcloud-deploy/api:${images.api.split("@sha256:")[1]}","port":8080,` +
      `"memory":"512m","cpus":1.5,"restart":"unless-stopped",` +
      `"health":{"path":"/healthz","timeoutSeconds":90,"intervalSeconds":2},"env":{},` +
      `"internalHosts":{"web.internal":["172.30.0.1","10.100.0.2"]}}`;
    const hash = crypto.createHash("sha256").update(settings).digest("hex").slice(0, 12);
    expect(api.inputs.triggers).toEqual([images.api, hash, "web-2-server-id"]);

    const web = run.named("web-on-web-1-service-rollout");
    expect(web.inputs.stdin).toBe(`${key}\nAPI_URL=http://api.internal:8080\n`);
  });

  test("appEndpoints marks api, which has public: false, and leaves the public web as it was", () => {
    const endpoints = run.outputs.appEndpoints as Record<string, Record<string, unknown>[]>;
    expect(endpoints.api.map((e) => [e.host, e.public])).toEqual([["web-2", false]]);
    expect(endpoints.web.map((e) => "public" in e)).toEqual([false, false]);
  });

  test("api.internal: from web-1 api's host over the private network, on web-2 its own proxy", () => {
    const runArgs = (name: string) =>
      hostScriptOf(run.named(name).inputs.environment.HCLOUD_DEPLOY_SCRIPT as string, "create").match(
        /--add-host \S+/g,
      );
    expect(run.outputs.hostPrivateIps).toEqual({ "web-1": "10.100.0.2", "web-2": "10.100.0.3" });
    expect(runArgs("web-on-web-1-service-rollout")).toEqual(["--add-host 'api.internal:10.100.0.3'"]);
    expect(runArgs("web-on-web-2-service-rollout")).toEqual(["--add-host 'api.internal:172.30.0.1'"]);
    expect(runArgs("api-on-web-2-service-rollout")).toEqual([
      "--add-host 'web.internal:172.30.0.1'",
      "--add-host 'web.internal:10.100.0.2'",
    ]);
    expect(run.named("web-1-private").inputs).toEqual({
      serverId: expect.any(Number),
      subnetId: "7001-10.100.0.0/24",
    });
    expect(run.named("private-eu-central").inputs).toEqual({
      networkId: 7001,
      type: "cloud",
      networkZone: "eu-central",
      ipRange: "10.100.0.0/24",
    });
  });

  test("exports each app's digest reference and URLs", () => {
    const images = run.outputs.appImages as Record<string, string>;
    expect(Object.keys(images)).toEqual(["web", "api"]);
    expect(images.web).toMatch(/^ghcr\.io\/example-org\/web@sha256:[0-9a-f]{64}$/);
    const urls = run.outputs.appUrls as Record<string, string[]>;
    expect(urls.web).toEqual([
      expect.stringMatching(/^http:\/\/\[2001:db8:0:[0-9a-f]+::1\]:80\/$/),
      expect.any(String),
    ]);
    expect(urls.api).toEqual([expect.stringMatching(/^http:\/\/\[2001:db8:0:[0-9a-f]+::1\]:8080\/$/)]);
  });
});

describe("apps under mocks, Pulumi.prod.yaml (one registry delivery)", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(stackConfig("prod"), { stack: "prod" });
  });

  test("the registry credential reaches the host only through the deployer's stdin, as a secret", async () => {
    const pulls = run.resources.filter((r) => r.name.endsWith("-pull"));
    expect(pulls.map((p) => [p.type, p.name])).toEqual([
      ["command:local:Command", "worker-on-nbg-1-delivery-pull"],
    ]);
    const pull = pulls[0];
    expect(pull.inputs.stdin).toBe(`${deployerKey.sshPrivateKey.trimEnd()}\npull-token-value\n`);
    expect(await pulumi.isSecret(pull.props.stdin)).toBe(true);
    const script: string = pull.inputs.environment.HCLOUD_DEPLOY_SCRIPT;
    expect(script).toContain("--password-stdin");
    expect(script).toContain("logout");
    for (const secret of SECRETS) expect(script).not.toContain(secret);
    for (const cmd of run.ofType("command:remote:Command")) {
      const { connection: _connection, ...rest } = cmd.inputs;
      expect([cmd.name, JSON.stringify(rest).includes("pull-token-value")]).toEqual([cmd.name, false]);
    }
  });

  test("the apps on several hosts fan out; the one on one host and the registry-pulled one do not", () => {
    expect(run.ofType("hcloud-deploy:delivery:DeliveryFanOut").map((r) => r.name)).toEqual([
      "web-fan-out",
      "api-fan-out",
    ]);
  });

  test("triggers of deliveries and services are digests", () => {
    const images = run.outputs.appImages as Record<string, string>;
    for (const cmd of run.resources.filter((r) => /-delivery-(load|pull)$|-service-rollout$/.test(r.name))) {
      const app = cmd.name.split("-on-")[0];
      expect([cmd.name, cmd.inputs.triggers[0]]).toEqual([cmd.name, images[app]]);
      expect(images[app]).toMatch(/@sha256:[0-9a-f]{64}$/);
    }
    expect(run.resources.filter((r) => /-delivery-(load|pull)$|-service-rollout$/.test(r.name))).toHaveLength(
      12,
    );
  });
});

describe("prebuilt and pinned images", () => {
  test("a pin skips the build and deploys the pinned digest", async () => {
    const run = await runProgram(
      stackConfig("dev", { "hcloud-deploy:imagePins": { web: digestRef("web") } }),
    );
    expect(run.ofType("docker:index/image:Image").map((r) => r.name)).toEqual(["api-image"]);
    expect((run.outputs.appImages as Record<string, string>).web).toBe(digestRef("web"));
    expect(run.named("web-on-web-1-delivery-load").inputs.triggers[0]).toBe(digestRef("web"));
  });
});
