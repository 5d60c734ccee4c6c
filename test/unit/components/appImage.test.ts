import type { AppImageArgs } from "../../../components/appImage";
import { freshRuntime, MockedRun, noResources, outputValue, runUnderMocks } from "../support/program";

const REGISTRY = { server: "ghcr.io", namespace: "example-org", username: "bot" };
const PREBUILT = `ghcr.io/example-org/web@sha256:${"b".repeat(64)}`;

async function runImage(args: AppImageArgs): Promise<MockedRun & { ref: string }> {
  let ref: import("@pulumi/pulumi").Output<string> | undefined;
  const run = await runUnderMocks(
    {},
    async () => {
      const { AppImage } = await import("../../../components/appImage");
      ref = new AppImage("web", args).ref;
    },
    { stack: "qa" },
  );
  return { ...run, ref: await outputValue(run.pulumi, ref!) };
}

describe("AppImage", () => {
  test("a prebuilt reference is used as it is: no build, no push", async () => {
    const run = await runImage({
      app: "web",
      source: { kind: "prebuilt", ref: PREBUILT },
      registry: REGISTRY,
    });
    expect(run.resources.map((r) => [r.type, r.name])).toEqual([["hcloud-deploy:image:AppImage", "web"]]);
    expect(run.ref).toBe(PREBUILT);
  });

  test("a build is pushed for linux/amd64 with the push token, and resolves to its repo digest", async () => {
    const run = await runImage({
      app: "web",
      source: { kind: "build", context: "apps/web", dockerfile: "Dockerfile.prod" },
      registry: REGISTRY,
      pushToken: "push-token-value",
      tag: "v7",
    });
    expect(run.resources.map((r) => [r.type, r.name, r.parentName])).toEqual([
      ["hcloud-deploy:image:AppImage", "web", undefined],
      ["docker:index/image:Image", "web-image", "web"],
    ]);
    expect(run.named("web-image").inputs).toEqual({
      imageName: "ghcr.io/example-org/web:v7",
      build: { context: "apps/web", dockerfile: "apps/web/Dockerfile.prod", platform: "linux/amd64" },
      registry: { server: "ghcr.io", username: "bot", password: "push-token-value" },
      // The docker SDK's own defaults.
      buildOnPreview: false,
      skipPush: false,
    });
    expect(run.ref).toMatch(/^ghcr\.io\/example-org\/web@sha256:[0-9a-f]{64}$/);
  });

  test("two platforms: one image each (amd64 keeps its name), then an index over them is the ref", async () => {
    const run = await runImage({
      app: "web",
      source: { kind: "build", context: "apps/web", dockerfile: "Dockerfile" },
      registry: REGISTRY,
      pushToken: "push-token-value",
      tag: "v7",
      platforms: ["linux/arm64", "linux/amd64", "linux/arm64"],
    });
    expect(run.resources.map((r) => [r.type, r.name])).toEqual([
      ["hcloud-deploy:image:AppImage", "web"],
      ["docker:index/image:Image", "web-image"],
      ["docker:index/image:Image", "web-image-arm64"],
      ["command:local:Command", "web-index"],
    ]);
    expect(run.named("web-image-arm64").inputs).toMatchObject({
      imageName: "ghcr.io/example-org/web:v7-arm64",
      build: { context: "apps/web", dockerfile: "apps/web/Dockerfile", platform: "linux/arm64" },
    });
    const index = run.named("web-index").inputs;
    const refs = index.triggers[0] as string[];
    expect(refs).toEqual([
      expect.stringMatching(/^ghcr\.io\/example-org\/web@sha256:[0-9a-f]{64}$/),
      expect.stringMatching(/^ghcr\.io\/example-org\/web@sha256:[0-9a-f]{64}$/),
    ]);
    expect(index.environment.HCLOUD_DEPLOY_SCRIPT).toContain(
      `docker manifest create "$index" '${refs[0]}' '${refs[1]}'`,
    );
    expect(index.environment.HCLOUD_DEPLOY_SCRIPT).toContain("index='ghcr.io/example-org/web:v7'");
    expect(index.stdin).toBe("push-token-value\n");
  });

  test("prebuilt for two platforms: the reference stays, each platform gets the index's image", async () => {
    const arm = `ghcr.io/example-org/web@sha256:${"c".repeat(64)}`;
    const amd = `ghcr.io/example-org/web@sha256:${"d".repeat(64)}`;
    let platformRefs: Record<string, unknown> = {};
    const run = await runUnderMocks({}, async (pulumi) => {
      const { AppImage } = await import("../../../components/appImage");
      const image = new AppImage("web", {
        app: "web",
        source: { kind: "prebuilt", ref: PREBUILT },
        registry: REGISTRY,
        platforms: ["linux/amd64", "linux/arm64"],
        prebuiltRefs: { "linux/amd64": amd, "linux/arm64": arm },
      });
      platformRefs = {
        amd64: await outputValue(pulumi, image.platformRefs["linux/amd64"]!),
        arm64: await outputValue(pulumi, image.platformRefs["linux/arm64"]!),
        ref: await outputValue(pulumi, image.ref),
      };
    });
    expect(run.resources).toHaveLength(1);
    expect(platformRefs).toEqual({ amd64: amd, arm64: arm, ref: PREBUILT });
  });

  test("a prebuilt image without a platform its hosts run is refused before anything is registered", async () => {
    await freshRuntime({}, "dev", noResources);
    const { AppImage } = await import("../../../components/appImage");
    const args = {
      app: "web",
      source: { kind: "prebuilt" as const, ref: PREBUILT },
      registry: REGISTRY,
      platforms: ["linux/arm64" as const],
    };
    expect(() => new AppImage("web", args)).toThrow(`AppImage web: ${PREBUILT} has no image for linux/arm64`);
  });

  test("the default tag is the last commit touching the context, then the stack", async () => {
    const run = await runImage({
      app: "web",
      source: { kind: "build", context: "apps/web", dockerfile: "Dockerfile" },
      registry: REGISTRY,
      pushToken: "p",
    });
    expect(run.named("web-image").inputs.imageName).toMatch(
      /^ghcr\.io\/example-org\/web:([0-9a-f]{7,}|untracked|nogit)-qa$/,
    );
  });

  test("building without a push token is refused before anything is registered", async () => {
    // The mocks refuse every resource, so the constructor must throw before registering one.
    await freshRuntime({}, "dev", noResources);
    const { AppImage } = await import("../../../components/appImage");
    const source = { kind: "build" as const, context: "apps/web", dockerfile: "Dockerfile" };
    expect(() => new AppImage("web", { app: "web", source, registry: REGISTRY })).toThrow(
      "AppImage web: building needs a push token",
    );
  });
});
