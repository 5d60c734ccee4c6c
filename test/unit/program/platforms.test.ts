// ARM hosts under mocks: each host's platform follows its server type, an app is built (or taken from a
// prebuilt index) for every platform its hosts run, and each host is delivered its own platform's image.
import { mockedRepoDigest, outputValue, ProgramRun, runProgram, stackConfig } from "../support/program";
import { CatalogServer, recordedCatalog, serveCatalog } from "../support/catalogServer";
import { fakeImage, platformRefOf } from "../support/fakeRegistry";

const DIGEST_REF = /^ghcr\.io\/example-org\/(web|api)@sha256:[0-9a-f]{64}$/;
// Pulumi.dev.yaml's hosts, with web-2 on an arm type: web runs on both, api on web-2 only.
const HOSTS = [
  { name: "web-1", location: "fsn1" },
  { name: "web-2", location: "fsn1", serverType: "cax21" },
];

let catalog: CatalogServer;
beforeAll(async () => {
  // The recorded catalog has every cax type sold out in the EU; here cax21 can be ordered in fsn1.
  const answers = recordedCatalog() as {
    "/server_types": { server_types: { name: string; locations: { available: boolean }[] }[] };
  };
  const cax21 = answers["/server_types"].server_types.find((t) => t.name === "cax21")!;
  for (const l of cax21.locations) l.available = true;
  catalog = await serveCatalog(answers);
});
afterAll(() => catalog.close());

const run = (extra: Record<string, unknown> = {}) =>
  runProgram(stackConfig("dev", { "hcloud-deploy:hosts": HOSTS, ...extra }), {
    catalogEndpoint: catalog.endpoint,
  });
const built = (r: ProgramRun, name: string) => mockedRepoDigest(r.named(name).inputs.imageName);
const triggerOf = (r: ProgramRun, name: string) => r.named(name).inputs.triggers[0] as string;

describe("an x86 and an arm host (built images)", () => {
  let r: ProgramRun;
  beforeAll(async () => {
    r = await run();
  });

  test("web is built for both platforms and indexed; api, on the arm host only, for arm64 only", () => {
    expect(r.ofType("docker:index/image:Image").map((i) => [i.name, i.inputs.build.platform])).toEqual([
      ["web-image", "linux/amd64"],
      ["web-image-arm64", "linux/arm64"],
      ["api-image-arm64", "linux/arm64"],
    ]);
    expect(
      r
        .ofType("command:local:Command")
        .filter((c) => c.name.endsWith("-index"))
        .map((c) => c.name),
    ).toEqual(["web-index"]);
  });

  test("each host is delivered its own platform's image; no fan-out across platforms", () => {
    const web = built(r, "web-image");
    const webArm = built(r, "web-image-arm64");
    expect([web, webArm]).toEqual([expect.stringMatching(DIGEST_REF), expect.stringMatching(DIGEST_REF)]);
    expect(web).not.toBe(webArm);
    expect(triggerOf(r, "web-on-web-1-delivery-load")).toBe(web);
    expect(triggerOf(r, "web-on-web-2-delivery-load")).toBe(webArm);
    expect(triggerOf(r, "api-on-web-2-delivery-load")).toBe(built(r, "api-image-arm64"));
    expect(r.ofType("hcloud-deploy:delivery:DeliveryFanOut")).toEqual([]);
  });

  test("outputs: each host's platform, the index as the app's image, each host's own image", async () => {
    expect(await outputValue(r.pulumi, r.outputs.hostPlatforms)).toEqual({
      "web-1": "linux/amd64",
      "web-2": "linux/arm64",
    });
    const appImages = (await outputValue(r.pulumi, r.outputs.appImages)) as Record<string, string>;
    expect(appImages.web).toMatch(DIGEST_REF);
    expect(appImages.web).not.toBe(built(r, "web-image"));
    expect(appImages.api).toBe(built(r, "api-image-arm64"));
    const hostApps = (await outputValue(r.pulumi, r.outputs.hostApps)) as Record<
      string,
      Record<string, { image: string }>
    >;
    expect(hostApps["web-1"].web.image).toBe(built(r, "web-image"));
    expect(hostApps["web-2"].web.image).toBe(built(r, "web-image-arm64"));
  });
});

describe("prebuilt images on an x86 and an arm host", () => {
  test("an index: each host gets its platform's manifest, the stack records the index", async () => {
    const web = fakeImage("ghcr.io/example-org/web", ["linux/amd64", "linux/arm64"]);
    const api = fakeImage("ghcr.io/example-org/api", ["linux/amd64", "linux/arm64"]);
    const r = await run({ "hcloud-deploy:imagePins": { web, api } });
    expect(r.ofType("docker:index/image:Image")).toEqual([]);
    expect(triggerOf(r, "web-on-web-1-delivery-load")).toBe(platformRefOf(web, "linux/amd64"));
    expect(triggerOf(r, "web-on-web-2-delivery-load")).toBe(platformRefOf(web, "linux/arm64"));
    expect(triggerOf(r, "api-on-web-2-delivery-load")).toBe(platformRefOf(api, "linux/arm64"));
    expect(await outputValue(r.pulumi, r.outputs.appImages)).toEqual({ web, api });
  });

  test("a single amd64 image for the arm host stops the program before any resource", async () => {
    const web = fakeImage("ghcr.io/example-org/web", ["linux/amd64"]);
    const api = fakeImage("ghcr.io/example-org/api", ["linux/amd64", "linux/arm64"]);
    const registered: string[] = [];
    const config = stackConfig("dev", {
      "hcloud-deploy:hosts": HOSTS,
      "hcloud-deploy:imagePins": { web, api },
    });
    await expect(runProgram(config, { catalogEndpoint: catalog.endpoint, registered })).rejects.toThrow(
      `preflight: app web: image ${web} is linux/amd64 only; host web-2 (cax21) runs linux/arm64: push an index with every platform its hosts run (docker buildx build --platform linux/amd64,linux/arm64 --push) or put web on hosts of its platform`,
    );
    expect(registered).toEqual(["pulumi:pulumi:Stack::hcloud-deploy-dev"]);
  });
});
