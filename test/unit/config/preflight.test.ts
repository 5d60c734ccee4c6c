import type { Catalog, CatalogServerType } from "../../../config/catalog";
import type { PlannedHost } from "../../../config/hostSpecs";
import { bytesOf, checkReplicaMemory, orderableIn, preflight } from "../../../config/preflight";
import { CatalogAnswers, recordedCatalog } from "../support/catalogServer";

const NOW = new Date("2026-12-01T12:00:00Z");

function catalogOf(answers: CatalogAnswers): Catalog {
  const list = (path: string, key: string) => (answers[path] as Record<string, unknown>)[key];
  return {
    serverTypes: list("/server_types", "server_types"),
    locations: list("/locations", "locations"),
    images: list("/images", "images"),
  } as Catalog;
}

const recorded = () => catalogOf(recordedCatalog());

function planned(over: Partial<PlannedHost> = {}): PlannedHost {
  return {
    name: "web-1",
    location: "fsn1",
    index: 0,
    serverType: "cx23",
    image: "debian-12",
    generation: 1,
    serverTypeOrigin: "default",
    imageOrigin: "default",
    orders: true,
    ...over,
  };
}

/** The recorded catalog with one type's deprecation set (in every location it is listed in). */
function deprecating(name: string, announced: string, unavailableAfter: string): Catalog {
  const catalog = recorded();
  const type = catalog.serverTypes.find((t) => t.name === name) as CatalogServerType;
  const deprecation = { announced, unavailable_after: unavailableAfter };
  Object.assign(type, {
    deprecation,
    locations: type.locations.map((l) => ({ ...l, deprecation })),
  });
  return catalog;
}

/** The recorded catalog with one type sold out in one location. */
function soldOut(name: string, location: string): Catalog {
  const catalog = recorded();
  const type = catalog.serverTypes.find((t) => t.name === name) as CatalogServerType;
  Object.assign(type, {
    locations: type.locations.map((l) => (l.name === location ? { ...l, available: false } : l)),
  });
  return catalog;
}

const KEY = "hcloud-deploy:hosts[0]";

describe("preflight against the recorded catalog", () => {
  test.each<[string, Partial<PlannedHost>, Catalog, string[], string[]]>([
    ["an orderable default passes", {}, recorded(), [], []],
    [
      "a removed type fails and names what fsn1 offers",
      { serverType: "cx22", serverTypeOrigin: "stack" },
      recorded(),
      [
        `${KEY}.serverType: host web-1 in fsn1: server type cx22 is not in Hetzner's catalog (removed or unknown); orderable in fsn1 instead: cpx12, cx23, cpx22, ccx13, cpx32, cx33`,
      ],
      [],
    ],
    [
      "a removed type a running server keeps only warns",
      { serverType: "cx22", serverTypeOrigin: "kept", orders: false },
      recorded(),
      [],
      [
        `${KEY}.serverType: host web-1 in fsn1: server type cx22 is not in Hetzner's catalog (removed or unknown); the running server keeps it, but a new one could not be ordered; orderable in fsn1 instead: cpx12, cx23, cpx22, ccx13, cpx32, cx33`,
      ],
    ],
    [
      "a type past its unavailable_after date fails",
      { serverType: "cpx11", serverTypeOrigin: "stack" },
      recorded(),
      [
        `${KEY}.serverType: host web-1 in fsn1: server type cpx11 is deprecated on 2025-10-16 and unavailable since 2025-12-31; orderable in fsn1 instead: cpx12, cpx22, cx23, ccx13, cpx32, cx33`,
      ],
      [],
    ],
    ["the same type is still orderable in ash", { serverType: "cpx11", location: "ash" }, recorded(), [], []],
    [
      "a sold-out type fails with what can be ordered there instead",
      { serverType: "cx33" },
      soldOut("cx33", "fsn1"),
      [
        `${KEY}.serverType: host web-1 in fsn1: server type cx33 cannot be ordered in fsn1 now (sold out or withdrawn there); orderable in fsn1 instead: ccx13, cpx32, cpx22, cx23, cpx12, cx43`,
      ],
      [],
    ],
    [
      "an arm type, sold out as recorded, fails with the x86 types nearest in memory",
      { serverType: "cax11" },
      recorded(),
      [
        `${KEY}.serverType: host web-1 in fsn1: server type cax11 cannot be ordered in fsn1 now (sold out or withdrawn there); orderable in fsn1 instead: cpx22, cx23, cpx12, ccx13, cpx32, cx33`,
      ],
      [],
    ],
    [
      "a type not sold in the location fails",
      { serverType: "cx23", location: "ash" },
      recorded(),
      [
        `${KEY}.serverType: host web-1 in ash: server type cx23 cannot be ordered in ash now (not offered there); orderable in ash instead: cpx21, cpx11, ccx13, cpx31`,
      ],
      [],
    ],
    [
      "a deprecated type still orderable warns with its date",
      {},
      deprecating("cx23", "2026-11-20T09:00:00Z", "2027-03-31T23:59:59Z"),
      [],
      [
        `${KEY}.serverType: host web-1 in fsn1: server type cx23 is deprecated on 2026-11-20 and unavailable after 2027-03-31; orderable in fsn1 instead: cpx22, cpx12, ccx13, cpx32, cx33, cx43`,
      ],
    ],
    [
      "after that date the same type fails",
      {},
      deprecating("cx23", "2025-06-01T09:00:00Z", "2026-06-30T23:59:59Z"),
      [
        `${KEY}.serverType: host web-1 in fsn1: server type cx23 is deprecated on 2025-06-01 and unavailable since 2026-06-30; orderable in fsn1 instead: cpx22, cpx12, ccx13, cpx32, cx33, cx43`,
      ],
      [],
    ],
    [
      "an image the type's architecture lacks fails and lists the Debian images",
      { image: "debian-11" },
      recorded(),
      [
        `${KEY}.image: host web-1: no image debian-11 for x86 (server type cx23); x86 images: debian-12, debian-13`,
      ],
      [],
    ],
  ])("%s", (_, over, catalog, errors, warnings) => {
    expect(preflight([planned(over)], catalog, NOW)).toEqual({
      errors,
      warnings,
    });
  });

  test("an orderable arm type passes: its apps get arm64 images", () => {
    const catalog = recorded();
    const cax = catalog.serverTypes.find((t) => t.name === "cax11") as CatalogServerType;
    Object.assign(cax, { locations: cax.locations.map((l) => ({ ...l, available: true })) });
    expect(preflight([planned({ serverType: "cax11" })], catalog, NOW)).toEqual({ errors: [], warnings: [] });
  });

  test.each([
    ["an x86 type the catalog calls arm", "cx23", "arm", "linux/amd64"],
    ["a cax type the catalog calls x86", "cax11", "x86", "linux/arm64"],
  ])("%s fails: hcloud-deploy would deliver the wrong platform", (_, name, architecture, platform) => {
    const catalog = recorded();
    const type = catalog.serverTypes.find((t) => t.name === name) as CatalogServerType;
    Object.assign(type, { architecture, locations: type.locations.map((l) => ({ ...l, available: true })) });
    const { errors } = preflight([planned({ serverType: name })], catalog, NOW);
    expect(errors.filter((e) => e.includes("please report"))).toEqual([
      `${KEY}.serverType: host web-1 in fsn1: server type ${name} is ${architecture} in Hetzner's catalog, but hcloud-deploy takes it for ${platform} (cax… is arm, the rest x86) and would deliver images the host cannot run; please report this`,
    ]);
  });

  test("a location the catalog lacks fails naming the ones it has", () => {
    const catalog = recorded();
    const without = { ...catalog, locations: catalog.locations.filter((l) => l.name !== "sin") };
    expect(preflight([planned({ location: "sin", serverType: "cpx12" })], without, NOW).errors).toEqual([
      `${KEY}.location: host web-1: location sin is not in Hetzner's catalog; locations: fsn1, nbg1, hel1, ash, hil`,
    ]);
  });

  test("one line per problem, each naming its host's key", () => {
    const result = preflight(
      [
        planned(),
        planned({ name: "web-2", index: 1, serverType: "cx22" }),
        planned({ name: "web-3", index: 2, image: "x" }),
      ],
      recorded(),
      NOW,
    );
    expect(result.errors.map((line) => line.split(":").slice(0, 2).join(":"))).toEqual([
      "hcloud-deploy:hosts[1].serverType",
      "hcloud-deploy:hosts[2].image",
    ]);
    expect(result.errors.every((line) => !line.includes("\n"))).toBe(true);
  });

  test("alternatives: the same architecture first, nearest in memory", () => {
    const catalog = recorded();
    const type = (name: string) => catalog.serverTypes.find((t) => t.name === name) as CatalogServerType;
    const cax11 = type("cax11");
    Object.assign(cax11, { locations: cax11.locations.map((l) => ({ ...l, available: l.name === "hel1" })) });
    // cax11 (arm, 4 GB) first; then the x86 types of cax21's 8 GB, by name; never cax21 itself.
    expect(orderableIn(catalog, "hel1", NOW, type("cax21")).slice(0, 4)).toEqual([
      "cax11",
      "ccx13",
      "cpx32",
      "cx33",
    ]);
  });
});

describe("replicas against the memory of their hosts' types", () => {
  const app = { name: "web", hosts: ["web-1"], replicas: 4, memory: "1g" };
  const cx23 = recorded().serverTypes.find((t) => t.name === "cx23") as CatalogServerType;

  test.each<[string, Partial<typeof app>, string[]]>([
    ["as many as the type holds", { replicas: cx23.memory }, []],
    ["one replica never counts, whatever its limit", { replicas: 1, memory: "64g" }, []],
    [
      "one more than it holds",
      { replicas: cx23.memory + 1 },
      [
        `hcloud-deploy:apps[0].replicas: app web: ${cx23.memory + 1} replicas of 1g need ${(cx23.memory + 1).toFixed(1)} GB, ` +
          `more than host web-1's cx23 has (${cx23.memory} GB)`,
      ],
    ],
    ["a host the plans lack is the loader's news", { hosts: ["nowhere"], replicas: 99 }, []],
  ])("%s", (_, over, expected) => {
    expect(checkReplicaMemory([{ ...app, ...over }], [planned()], recorded())).toEqual(expected);
  });

  test.each([
    ["256m", 268435456],
    ["1g", 1073741824],
    ["512k", 524288],
    ["1000", 1000],
  ])("%s is %d bytes", (memory, bytes) => {
    expect(bytesOf(memory)).toBe(bytes);
  });
});
