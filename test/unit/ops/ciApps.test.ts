import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  buildMatrix,
  BuiltApp,
  CiAppsError,
  parseStackApps,
  pinsFromBuilt,
  pinsFromDeployed,
  readStack,
  runCiApps as ciApps,
} from "../../../ops/ciApps";
import { ROOT } from "../support/program";
describe("ci-apps (ops/ciApps.ts behind scripts/ci-apps.ts)", () => {
  const built = (app: string, extra: Partial<BuiltApp> = {}): BuiltApp => ({
    app,
    image: `ghcr.io/example-org/${app}`,
    registry: "ghcr.io",
    username: "example-bot",
    context: `apps/${app}`,
    dockerfile: `apps/${app}/Dockerfile`,
    platforms: "linux/amd64",
    ...extra,
  });
  const registry = { namespace: "example-org", username: "example-bot" };
  const digestRef = (app: string, hex = "d") => `ghcr.io/example-org/${app}@sha256:${hex.repeat(64)}`;
  const errorOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(Error);
      return (err as Error).message;
    }
    throw new Error("no error");
  };

  test("the build matrix of dev and prod: each image once, prod's worker from its own Dockerfile", () => {
    expect(JSON.parse(ciApps(["--stack", "dev", "--stack", "prod"], ROOT))).toEqual({
      include: [
        built("web"),
        built("api"),
        built("worker", { context: "apps/api", dockerfile: "apps/api/Dockerfile.worker" }),
      ],
    });
  });

  test("an app is built for the platforms of its hosts in every stack: cax hosts add linux/arm64", () => {
    const stack = (hosts: Record<string, unknown>[]) => ({
      stack: "s",
      apps: parseStackApps({
        "hcloud-deploy:registry": registry,
        "hcloud-deploy:hosts": hosts,
        "hcloud-deploy:apps": [
          { name: "web", hosts: hosts.map((h) => h.name), build: { context: "apps/web" } },
          { name: "api", hosts: [hosts[0].name], build: { context: "apps/api" } },
        ],
      }),
    });
    const dev = stack([{ name: "a" }, { name: "b", serverType: "cx33" }]);
    const prod = stack([
      { name: "arm", serverType: "cax21" },
      { name: "x86", serverType: "cpx12" },
    ]);
    expect(dev.apps.map((a) => [a.app, a.platforms])).toEqual([
      ["web", "linux/amd64"],
      ["api", "linux/amd64"],
    ]);
    expect(buildMatrix([dev, prod]).include.map((a) => [a.app, a.platforms])).toEqual([
      ["web", "linux/amd64,linux/arm64"],
      ["api", "linux/amd64,linux/arm64"],
    ]);
  });

  test.each<[string, Record<string, unknown>, BuiltApp[]]>([
    ["no apps", {}, []],
    [
      "prebuilt apps need no build, nor a registry",
      { "hcloud-deploy:apps": [{ name: "web", image: digestRef("web") }] },
      [],
    ],
    [
      "an app pinned in the stack file stays pinned",
      {
        "hcloud-deploy:registry": registry,
        "hcloud-deploy:imagePins": { web: digestRef("web") },
        "hcloud-deploy:apps": [
          { name: "web", build: { context: "apps/web" } },
          { name: "api", build: { context: "apps/api" } },
        ],
      },
      [built("api")],
    ],
    [
      "another registry and Dockerfile",
      {
        "hcloud-deploy:registry": { ...registry, server: "registry.example.com:5000" },
        "hcloud-deploy:apps": [{ name: "web", build: { context: "apps/web/", dockerfile: "docker/Prod" } }],
      },
      [
        built("web", {
          image: "registry.example.com:5000/example-org/web",
          registry: "registry.example.com:5000",
          context: "apps/web/",
          dockerfile: "apps/web/docker/Prod",
        }),
      ],
    ],
  ])("apps a stack builds: %s", (_what, config, expected) => {
    expect(parseStackApps(config)).toEqual(expected);
  });

  test.each<[string, Record<string, unknown>, string]>([
    [
      "no registry",
      { "hcloud-deploy:apps": [{ name: "web", build: { context: "apps/web" } }] },
      "hcloud-deploy:registry: must be an object, got nothing",
    ],
    [
      "an uppercase namespace",
      {
        "hcloud-deploy:registry": { ...registry, namespace: "Example" },
        "hcloud-deploy:apps": [{ name: "web", build: { context: "apps/web" } }],
      },
      'hcloud-deploy:registry.namespace: "Example" is not a lowercase registry namespace',
    ],
    [
      "no build context",
      { "hcloud-deploy:registry": registry, "hcloud-deploy:apps": [{ name: "web", build: {} }] },
      "hcloud-deploy:apps[0].build.context: is required",
    ],
    [
      "apps not a list",
      { "hcloud-deploy:apps": { web: {} } },
      "hcloud-deploy:apps: must be a list, got an object",
    ],
  ])("a stack file with %s is rejected, naming the key", (_what, config, message) => {
    expect(errorOf(() => parseStackApps(config))).toBe(message);
  });

  test("errors in a stack file name the file", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "ci-apps-"));
    fs.writeFileSync(
      path.join(root, "Pulumi.bad.yaml"),
      "config:\n  hcloud-deploy:apps:\n    - name: web\n      build: {}\n",
    );
    expect(errorOf(() => readStack(root, "bad"))).toBe(
      "Pulumi.bad.yaml: hcloud-deploy:registry: must be an object, got nothing",
    );
    expect(errorOf(() => readStack(root, "missing"))).toBe(
      `Pulumi.missing.yaml: no such stack file in ${root}`,
    );
    fs.rmSync(root, { recursive: true });
  });

  test("stacks sharing a repository share its build, unless they build it differently", () => {
    const dev = { stack: "dev", apps: [built("web")] };
    expect(buildMatrix([dev, { stack: "prod", apps: [built("web")] }])).toEqual({ include: [built("web")] });
    const prod = { stack: "prod", apps: [built("web", { dockerfile: "apps/web/Dockerfile.prod" })] };
    expect(errorOf(() => buildMatrix([dev, prod]))).toBe(
      "ghcr.io/example-org/web is built from apps/web/Dockerfile by stack dev but from " +
        "apps/web/Dockerfile.prod by stack prod: one repository cannot hold both",
    );
  });

  test("pins from the build job: every app of the stack, each checked against its repository", () => {
    const stack = { stack: "prod", apps: [built("web"), built("api")] };
    const images = {
      "ghcr.io/example-org/web": digestRef("web"),
      "ghcr.io/example-org/api": digestRef("api", "e"),
    };
    expect(pinsFromBuilt(stack, JSON.stringify(images))).toEqual([
      ["web", digestRef("web")],
      ["api", digestRef("api", "e")],
    ]);
  });

  test.each([
    ["not JSON", "{", "--built: not valid JSON"],
    ["a list", "[]", "--built: must be a JSON object"],
    [
      "an app missing",
      JSON.stringify({ "ghcr.io/example-org/web": digestRef("web") }),
      '--built: no image was built for ghcr.io/example-org/api (app "api" of prod)',
    ],
    [
      "another repository's digest",
      JSON.stringify({
        "ghcr.io/example-org/web": digestRef("web"),
        "ghcr.io/example-org/api": digestRef("web"),
      }),
      `--built: "${digestRef("web")}" for app "api" is not ghcr.io/example-org/api@sha256:<64 hex>`,
    ],
    [
      "a tag instead of a digest",
      JSON.stringify({
        "ghcr.io/example-org/web": digestRef("web"),
        "ghcr.io/example-org/api": "ghcr.io/example-org/api:1",
      }),
      '--built: "ghcr.io/example-org/api:1" for app "api" is not ghcr.io/example-org/api@sha256:<64 hex>',
    ],
  ])("pins from the build job are refused with %s", (_what, json, message) => {
    const stack = { stack: "prod", apps: [built("web"), built("api")] };
    expect(errorOf(() => pinsFromBuilt(stack, json))).toBe(message);
  });

  test.each<[string, unknown, [string, string][]]>([
    ["a stack never deployed", {}, []],
    ["a stack without apps yet", { appImages: {} }, []],
    ["an app added since", { appImages: { web: digestRef("web") } }, [["web", digestRef("web")]]],
    [
      "an app removed since",
      { appImages: { web: digestRef("web"), api: digestRef("api"), old: digestRef("old") } },
      [
        ["web", digestRef("web")],
        ["api", digestRef("api")],
      ],
    ],
  ])("pins from what the stack runs: %s", (_what, outputs, expected) => {
    const stack = { stack: "prod", apps: [built("web"), built("api")] };
    expect(pinsFromDeployed(stack, JSON.stringify(outputs))).toEqual(expected);
  });

  test("a deployed image that is not a digest reference is refused", () => {
    const stack = { stack: "prod", apps: [built("web")] };
    expect(errorOf(() => pinsFromDeployed(stack, JSON.stringify({ appImages: { web: "[secret]" } })))).toBe(
      '--deployed: "[secret]" for app "web" is not ghcr.io/example-org/web@sha256:<64 hex>',
    );
  });

  test.each([
    [[]],
    [["--stack"]],
    [["--bogus", "x"]],
    [["--stack", "dev", "--built", "{}"]],
    [["pins", "--stack", "dev"]],
    [["pins", "--stack", "dev", "--stack", "prod", "--built", "{}"]],
    [["pins", "--stack", "dev", "--built", "{}", "--deployed", "{}"]],
  ])("usage errors: %j", (argv) => {
    let error: unknown;
    try {
      ciApps(argv, ROOT);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CiAppsError);
    expect((error as Error).message).toMatch(/^usage: ci-apps.ts --stack/);
  });

  test("a stack name is never a path", () => {
    expect(errorOf(() => ciApps(["--stack", "../prod"], ROOT))).toBe('"../prod" is not a stack name');
  });
});

describe("ci-apps and apps built from another repository (build.git)", () => {
  let root: string;
  let commit: string;
  const sh = (cmd: string, cwd: string) => execFileSync("sh", ["-c", cmd], { cwd, encoding: "utf8" }).trim();
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "hcd-ci-git-"));
    const repo = path.join(root, "api");
    fs.mkdirSync(path.join(repo, "svc"), { recursive: true });
    fs.writeFileSync(path.join(repo, "svc", "Dockerfile"), "FROM scratch\n");
    sh(
      "git init -q -b main && git config user.email t@t && git config user.name t && git add -A && git commit -qm one",
      repo,
    );
    commit = sh("git rev-parse HEAD", repo);
    process.env.HCLOUD_DEPLOY_CACHE = path.join(root, "cache");
    const stackFile = [
      "config:",
      "  hcloud-deploy:registry: {namespace: example-org, username: example-bot}",
      "  hcloud-deploy:hosts: [{name: web-1, location: fsn1}]",
      "  hcloud-deploy:apps:",
      `    - {name: api, hosts: [web-1], port: 8080, build: {git: "file://${repo}", commit: ${commit}, context: svc}}`,
      "",
    ].join("\n");
    fs.writeFileSync(path.join(root, "Pulumi.dev.yaml"), stackFile);
  });
  afterAll(() => {
    delete process.env.HCLOUD_DEPLOY_CACHE;
    fs.rmSync(root, { recursive: true, force: true });
  });

  test("the matrix builds the commit's tree under .sources/; `sources` fetches it there", () => {
    const [entry] = JSON.parse(ciApps(["--stack", "dev"], root)).include;
    expect([entry.context, entry.dockerfile, entry.git.commit]).toEqual([
      `.sources/${commit}/svc`,
      `.sources/${commit}/svc/Dockerfile`,
      commit,
    ]);
    expect(ciApps(["sources", "--stack", "dev"], root)).toBe(
      `source: api built from ${commit} of file://${path.join(root, "api")}`,
    );
    expect(fs.readFileSync(path.join(root, entry.dockerfile), "utf8")).toBe("FROM scratch\n");
  });
});
