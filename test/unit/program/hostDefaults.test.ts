// The program's preflight and host specs under mocks: the catalog comes from recorded answers on
// loopback, the previous deployment from the mocked invoke that reads the stack's own outputs.
import { outputValue, runProgram, stackConfig } from "../support/program";
import type { CatalogServerType } from "../../../config/catalog";
import { recordedCatalog, serveCatalog } from "../support/catalogServer";
import { fakeImage } from "../support/fakeRegistry";

const SERVER = "hcloud:index/server:Server";
const AMD64_ONLY = fakeImage("ghcr.io/example-org/web", ["linux/amd64"]);

function serversOf(run: Awaited<ReturnType<typeof runProgram>>) {
  return Object.fromEntries(
    run.ofType(SERVER).map((s) => [s.name.replace(/-server$/, ""), [s.inputs.serverType, s.inputs.image]]),
  );
}

describe("host specs across an upgrade (Pulumi.dev.yaml: web-1 unnamed, web-2 names cx33)", () => {
  test("a new stack orders today's defaults and records them", async () => {
    const run = await runProgram(stackConfig("dev"));
    expect(serversOf(run)).toEqual({ "web-1": ["cx23", "debian-13"], "web-2": ["cx33", "debian-13"] });
    expect(await outputValue(run.pulumi, run.outputs.hostSpecs)).toEqual({
      "web-1": { serverType: "cx23", image: "debian-13", generation: 1 },
      "web-2": { serverType: "cx33", image: "debian-13", generation: 1 },
    });
  });

  test("hosts deployed by an earlier release keep cx22 and debian-12", async () => {
    const run = await runProgram(stackConfig("dev"), {
      previousOutputs: { serverIds: { "web-1": "101", "web-2": "102" } },
    });
    expect(serversOf(run)).toEqual({ "web-1": ["cx22", "debian-12"], "web-2": ["cx33", "debian-12"] });
  });

  test("a generation bump moves the unnamed host to today's defaults", async () => {
    const hosts = [
      { name: "web-1", location: "fsn1", generation: 2 },
      { name: "web-2", location: "fsn1", serverType: "cx33" },
    ];
    const run = await runProgram(stackConfig("dev", { "hcloud-deploy:hosts": hosts }), {
      previousOutputs: {
        serverIds: { "web-1": "101", "web-2": "102" },
        hostSpecs: {
          "web-1": { serverType: "cx22", image: "debian-12", generation: 1 },
          "web-2": { serverType: "cx33", image: "debian-12", generation: 1 },
        },
      },
    });
    // The bumped host gets today's defaults, image too; the other keeps what it has.
    expect(serversOf(run)).toEqual({ "web-1": ["cx23", "debian-13"], "web-2": ["cx33", "debian-12"] });
  });
});

describe("the committed stacks order only what the recorded catalog sells", () => {
  test.each(["dev", "prod"])(
    "%s: every server's type is orderable in its location, and x86",
    async (stack) => {
      const types = (recordedCatalog()["/server_types"] as { server_types: CatalogServerType[] })
        .server_types;
      const run = await runProgram(stackConfig(stack), { stack });
      const servers = run.ofType(SERVER);
      expect(servers.length).toBe(stack === "dev" ? 2 : 3);
      for (const server of servers) {
        const type = types.find((t) => t.name === server.inputs.serverType);
        const here = type?.locations.find((l) => l.name === server.inputs.location);
        expect([server.name, server.inputs.serverType, type?.architecture, here?.available]).toEqual([
          server.name,
          server.inputs.serverType,
          "x86",
          true,
        ]);
      }
    },
  );
});

describe("preflight under mocks", () => {
  test("the catalog is read from the endpoint the provider talks to, with the token", async () => {
    const catalog = await serveCatalog();
    await runProgram(stackConfig("dev"), { catalogEndpoint: catalog.endpoint });
    expect(catalog.requests.map((r) => r.replace(/\?.*/, "")).sort()).toEqual([
      "/v1/images",
      "/v1/locations",
      "/v1/server_types",
    ]);
    await catalog.close();
  });

  test.each([
    [
      "a host naming cx22",
      [{ name: "web-1", location: "fsn1", serverType: "cx22" }],
      recordedCatalog(),
      "preflight: hcloud-deploy:hosts[0].serverType: host web-1 in fsn1: server type cx22 is not in Hetzner's catalog (removed or unknown); orderable in fsn1 instead: cpx12, cx23, cpx22, ccx13, cpx32, cx33",
    ],
    [
      "an arm host where arm is sold out",
      [{ name: "web-1", location: "nbg1", serverType: "cax11" }],
      recordedCatalog(),
      "preflight: hcloud-deploy:hosts[0].serverType: host web-1 in nbg1: server type cax11 cannot be ordered in nbg1 now (sold out or withdrawn there); orderable in nbg1 instead: cpx22, cx23, cpx12, ccx13, cpx32, cx33\n" +
        `preflight: app web: image ${AMD64_ONLY} is linux/amd64 only; host web-1 (cax11) runs linux/arm64: push an index with every platform its hosts run (docker buildx build --platform linux/arm64 --push) or put web on hosts of its platform`,
    ],
  ])("%s stops the program before any resource is registered", async (_, hosts, answers, line) => {
    const catalog = await serveCatalog(answers);
    // One app with a prebuilt amd64 image on the host, so an arm host would have something it cannot run.
    const apps = [
      {
        name: "web",
        hosts: ["web-1"],
        image: AMD64_ONLY,
        port: 8080,
      },
    ];
    const config = stackConfig("dev", { "hcloud-deploy:hosts": hosts, "hcloud-deploy:apps": apps });
    const registered: string[] = [];
    await expect(runProgram(config, { catalogEndpoint: catalog.endpoint, registered })).rejects.toThrow(line);
    // The stack itself only: nothing that would exist at Hetzner.
    expect(registered).toEqual(["pulumi:pulumi:Stack::hcloud-deploy-dev"]);
    await catalog.close();
  });

  test("a refused token fails in one line naming the endpoint", async () => {
    const catalog = await serveCatalog({});
    await expect(runProgram(stackConfig("dev"), { catalogEndpoint: catalog.endpoint })).rejects.toThrow(
      `preflight: cannot read Hetzner's catalog at ${catalog.endpoint}: GET /server_types?per_page=50&page=1: HTTP 404 not_found: no recorded answer for /server_types`,
    );
    await catalog.close();
  });
});
