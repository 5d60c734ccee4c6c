import { DEPRECATION_PATH, SOLD_OUT_PATH } from "../../../../local/emulator/emulator";
import { TestEmulator, fetchJson, serverCreateBody, startTestEmulator } from "./support";

/**
 * The catalog as the real API shows it on 2026-12-01 (local/emulator/catalog.ts has the sources):
 * per-location availability and deprecation, the removed types and fields, and the answers to the
 * requests the API refuses.
 */
describe("emulator: the catalog mirrors the real API", () => {
  let t: TestEmulator;
  let serverCount = 0;
  const create = (overrides: Record<string, unknown>) =>
    t.api("POST", "/servers", serverCreateBody({ name: `catalog-${++serverCount}`, ...overrides }));

  beforeAll(async () => {
    t = await startTestEmulator();
  });
  afterAll(() => t.close());
  afterEach(() => {
    t.emulator.store.state.soldOut = [];
    t.emulator.store.state.deprecationMarks = [];
  });

  const GEN1_DEPRECATION = { announced: "2025-10-16T06:00:00Z", unavailable_after: "2025-12-31T23:59:59Z" };

  test("GET /server_types lists the 25 current types and none of cx22–cx52", async () => {
    const res = await t.api("GET", "/server_types?per_page=50");
    const names = res.body.server_types.map((type: { name: string }) => type.name);
    expect(names).toHaveLength(25);
    expect(names).toEqual(
      expect.arrayContaining([
        ...["cx23", "cx33", "cx43", "cx53", "cax11", "cax21", "cax31", "cax41"],
        ...["cpx11", "cpx21", "cpx31", "cpx41", "cpx51"],
        ...["cpx12", "cpx22", "cpx32", "cpx42", "cpx52", "cpx62"],
        ...["ccx13", "ccx23", "ccx33", "ccx43", "ccx53", "ccx63"],
      ]),
    );
    for (const removed of ["cx22", "cx32", "cx42", "cx52"]) expect(names).not.toContain(removed);
  });

  test("cx23 is cost_optimized, x86, offered and recommended in the EU locations only", async () => {
    const res = await t.api("GET", "/server_types?name=cx23");
    expect(res.body.server_types).toEqual([
      {
        id: 108,
        name: "cx23",
        description: "CX23",
        category: "cost_optimized",
        cores: 2,
        memory: 4,
        disk: 40,
        storage_type: "local",
        cpu_type: "shared",
        architecture: "x86",
        prices: [],
        deprecated: false,
        deprecation: null,
        locations: [
          { id: 1, name: "fsn1", deprecation: null, available: true, recommended: true },
          { id: 2, name: "nbg1", deprecation: null, available: true, recommended: true },
          { id: 3, name: "hel1", deprecation: null, available: true, recommended: true },
        ],
      },
    ]);
  });

  test("cpx11 is deprecated and unavailable in fsn1, nbg1, hel1 and sin, orderable in ash and hil", async () => {
    const [type] = (await t.api("GET", "/server_types?name=cpx11")).body.server_types;
    expect(type).toMatchObject({ category: "regular_purpose", deprecated: false, deprecation: null });
    const gone = { deprecation: GEN1_DEPRECATION, available: false, recommended: false };
    const sold = { deprecation: null, available: true, recommended: true };
    expect(type.locations).toEqual([
      { id: 1, name: "fsn1", ...gone },
      { id: 2, name: "nbg1", ...gone },
      { id: 3, name: "hel1", ...gone },
      { id: 4, name: "ash", ...sold },
      { id: 5, name: "hil", ...sold },
      { id: 6, name: "sin", ...gone },
    ]);
  });

  test.each([
    ["cx23", "cost_optimized", "x86", ["fsn1", "nbg1", "hel1"]],
    ["cax11", "cost_optimized", "arm", ["fsn1", "nbg1", "hel1"]],
    ["cpx22", "regular_purpose", "x86", ["fsn1", "nbg1", "hel1", "sin"]],
    ["ccx13", "general_purpose", "x86", ["fsn1", "nbg1", "hel1", "ash", "hil", "sin"]],
  ])("%s: category %s, architecture %s, available in %j", async (name, category, architecture, where) => {
    const [type] = (await t.api("GET", `/server_types?name=${name}`)).body.server_types;
    expect(type).toMatchObject({ category, architecture });
    const available = type.locations.filter((l: { available: boolean }) => l.available);
    expect(available.map((l: { name: string }) => l.name)).toEqual(where);
  });

  const unsupported = {
    status: 422,
    error: { code: "invalid_input", message: "unsupported location for server type", details: {} },
  };
  const notFound = (type: string) => ({
    status: 422,
    error: {
      code: "invalid_input",
      message: `server type '${type}' not found`,
      details: { fields: [{ name: "server_type", messages: ["not found"] }] },
    },
  });
  const datacenter = {
    status: 422,
    error: {
      code: "invalid_input",
      message: "invalid input in field 'datacenter': was removed on 2026-07-01; use location",
      details: { fields: [{ name: "datacenter", messages: ["was removed on 2026-07-01; use location"] }] },
    },
  };
  const soldOut = {
    status: 412,
    error: { code: "resource_unavailable", message: "error during placement", details: null },
  };

  test.each<[string, Record<string, unknown>, string[] | undefined, unknown]>([
    ["removed type cx22", { server_type: "cx22" }, undefined, notFound("cx22")],
    ["removed type cx32", { server_type: "cx32" }, undefined, notFound("cx32")],
    ["removed type cx42", { server_type: "cx42" }, undefined, notFound("cx42")],
    ["removed type cx52", { server_type: "cx52" }, undefined, notFound("cx52")],
    ["cx23 in ash (never offered)", { server_type: "cx23", location: "ash" }, undefined, unsupported],
    ["cx33 in sin (never offered)", { server_type: "cx33", location: "sin" }, undefined, unsupported],
    [
      "cax11 in hil (never offered)",
      { server_type: "cax11", location: "hil", image: 5013 },
      undefined,
      unsupported,
    ],
    [
      "cpx11 in fsn1 (past unavailable_after)",
      { server_type: "cpx11", location: "fsn1" },
      undefined,
      unsupported,
    ],
    [
      "cpx31 in sin (past unavailable_after)",
      { server_type: "cpx31", location: "sin" },
      undefined,
      unsupported,
    ],
    ["the datacenter field", { location: undefined, datacenter: "fsn1-dc14" }, undefined, datacenter],
    ["datacenter next to location", { datacenter: "fsn1-dc14" }, undefined, datacenter],
    ["cax11 sold out in fsn1", { server_type: "cax11", image: 5013 }, ["cax11", "fsn1"], soldOut],
    ["cx23 sold out in fsn1", { server_type: "cx23" }, ["cx23", "fsn1"], soldOut],
  ])("POST /servers with %s is refused as the API refuses it", async (_, overrides, mark, expected) => {
    if (mark) t.emulator.store.markSoldOut(mark[0], mark[1]);
    const res = await create(overrides);
    expect({ status: res.status, error: res.body.error }).toEqual(expected);
  });

  test.each([
    ["cpx11 in ash", { server_type: "cpx11", location: "ash" }],
    ["cpx51 in hil", { server_type: "cpx51", location: "hil" }],
    ["cx23 in fsn1", { server_type: "cx23", location: "fsn1" }],
    ["cax41 in hel1 on the arm image", { server_type: "cax41", location: "hel1", image: 5013 }],
    ["cpx62 in sin", { server_type: "cpx62", location: "sin" }],
    ["ccx13 in hil", { server_type: "ccx13", location: "hil" }],
    ["debian-13 by name", { server_type: "cx23", image: "debian-13" }],
  ])("POST /servers with %s is 201", async (_, overrides) => {
    const res = await create(overrides);
    expect(res.status).toBe(201);
  });

  test("without a location a server goes where its type can be ordered, skipping sold-out ones", async () => {
    t.emulator.store.markSoldOut("cx23", "fsn1");
    const res = await create({ server_type: "cx23", location: undefined });
    expect(res.status).toBe(201);
    expect(res.body.server.location.name).toBe("nbg1");
  });

  test("a sold-out type shows available and recommended false there, and is orderable once restocked", async () => {
    t.emulator.store.markSoldOut("cax11", "nbg1");
    const [type] = (await t.api("GET", "/server_types?name=cax11")).body.server_types;
    expect(type.locations.find((l: { name: string }) => l.name === "nbg1")).toEqual({
      id: 2,
      name: "nbg1",
      deprecation: null,
      available: false,
      recommended: false,
    });
    expect(type.locations.find((l: { name: string }) => l.name === "fsn1").available).toBe(true);
    t.emulator.store.markSoldOut("cax11", "nbg1", false);
    const res = await create({ server_type: "cax11", image: 5013, location: "nbg1" });
    expect(res.status).toBe(201);
  });

  test(`POST ${SOLD_OUT_PATH} marks a type sold out from outside the process, and lifts the mark`, async () => {
    const admin = (body: unknown) =>
      fetchJson(`${t.emulator.url}${SOLD_OUT_PATH}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    const marked = await admin({ server_type: "cax21", location: "hel1" });
    expect([marked.status, marked.body]).toEqual([
      200,
      { sold_out: [{ server_type: "cax21", location: "hel1" }] },
    ]);
    const refused = await create({ server_type: "cax21", image: 5013, location: "hel1" });
    expect([refused.status, refused.body.error.code]).toEqual([412, "resource_unavailable"]);
    const listed = await fetchJson(`${t.emulator.url}${SOLD_OUT_PATH}`);
    expect(listed.body.sold_out).toEqual([{ server_type: "cax21", location: "hel1" }]);
    const lifted = await admin({ server_type: "cax21", location: "hel1", sold_out: false });
    expect(lifted.body).toEqual({ sold_out: [] });
    expect((await create({ server_type: "cax21", image: 5013, location: "hel1" })).status).toBe(201);
  });

  test.each([
    [{ server_type: "cx22", location: "fsn1" }, "server_type"],
    [{ server_type: "cx23", location: "ash" }, "location"],
    [{ server_type: "cx23", location: "mars1" }, "location"],
    [{ location: "fsn1" }, "server_type"],
  ])(`POST ${SOLD_OUT_PATH} with %j is 422 invalid_input naming %s`, async (body, field) => {
    const res = await fetchJson(`${t.emulator.url}${SOLD_OUT_PATH}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    expect([res.status, res.body.error.code, res.body.error.details.fields[0].name]).toEqual([
      422,
      "invalid_input",
      field,
    ]);
  });

  const AHEAD = { announced: "2026-11-20T09:00:00Z", unavailable_after: "2099-03-31T23:59:59Z" };
  const markDeprecation = (body: unknown) =>
    fetchJson(`${t.emulator.url}${DEPRECATION_PATH}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  const typeNamed = async (name: string) =>
    (await t.api("GET", `/server_types?name=${name}`)).body.server_types[0];

  test(`POST ${DEPRECATION_PATH}: a listed type deprecated with a date ahead stays orderable, not recommended`, async () => {
    const marked = await markDeprecation({ server_type: "cx23", location: "fsn1", deprecation: AHEAD });
    expect([marked.status, marked.body]).toEqual([
      200,
      { deprecations: [{ server_type: "cx23", location: "fsn1", deprecation: AHEAD }] },
    ]);
    expect((await typeNamed("cx23")).locations[0]).toEqual({
      id: 1,
      name: "fsn1",
      deprecation: AHEAD,
      available: true,
      recommended: false,
    });
    expect((await create({ server_type: "cx23", location: "fsn1" })).status).toBe(201);
    const reset = await markDeprecation({ server_type: "cx23", location: "fsn1", reset: true });
    expect(reset.body).toEqual({ deprecations: [] });
    expect((await typeNamed("cx23")).locations[0].deprecation).toBeNull();
  });

  test("a withdrawn type is listed again while a mark leaves it orderable, and its servers outlive the mark", async () => {
    expect(await typeNamed("cx22")).toBeUndefined();
    await markDeprecation({ server_type: "cx22", location: "fsn1", deprecation: AHEAD });
    expect(
      (await typeNamed("cx22")).locations.map((l: { name: string; available: boolean }) => [
        l.name,
        l.available,
      ]),
    ).toEqual([
      ["fsn1", true],
      ["nbg1", false],
      ["hel1", false],
    ]);
    const server = (await create({ server_type: "cx22", location: "fsn1" })).body.server;
    expect((await create({ server_type: "cx22", location: "nbg1" })).body.error.code).toBe("invalid_input");
    await markDeprecation({ server_type: "cx22", location: "fsn1", reset: true });
    expect(await typeNamed("cx22")).toBeUndefined();
    const read = await t.api("GET", `/servers/${server.id}`);
    expect([read.status, read.body.server.server_type.name]).toEqual([200, "cx22"]);
  });

  test.each([
    [{ server_type: "cx99", location: "fsn1", deprecation: null }, "server_type"],
    [{ server_type: "cx22", location: "ash", deprecation: null }, "location"],
    [
      {
        server_type: "cx23",
        location: "fsn1",
        deprecation: { announced: "soon", unavailable_after: "later" },
      },
      "deprecation",
    ],
  ])(`POST ${DEPRECATION_PATH} with %j is 422 invalid_input naming %s`, async (body, field) => {
    const res = await markDeprecation(body);
    expect([res.status, res.body.error.code, res.body.error.details.fields[0].name]).toEqual([
      422,
      "invalid_input",
      field,
    ]);
  });

  test("change_type to a type not offered where the server is: unsupported location; sold out: 412", async () => {
    const server = (await create({ server_type: "ccx13", location: "ash" })).body.server;
    await t.api("POST", `/servers/${server.id}/actions/poweroff`);
    const unsupportedType = await t.api("POST", `/servers/${server.id}/actions/change_type`, {
      server_type: "cx33",
      upgrade_disk: false,
    });
    expect({ status: unsupportedType.status, error: unsupportedType.body.error }).toEqual(unsupported);
    t.emulator.store.markSoldOut("ccx23", "ash");
    const soldOutType = await t.api("POST", `/servers/${server.id}/actions/change_type`, {
      server_type: "ccx23",
      upgrade_disk: false,
    });
    expect({ status: soldOutType.status, error: soldOutType.body.error }).toEqual(soldOut);
  });

  test.each(["/datacenters", "/datacenters/1"])("GET %s is 410 deprecated_api_endpoint", async (path) => {
    const res = await t.api("GET", path);
    expect(res.status).toBe(410);
    expect(res.body.error).toEqual({
      code: "deprecated_api_endpoint",
      message: "the datacenters endpoints were removed on 2026-10-01",
      details: { announcement: "https://docs.hetzner.cloud/changelog#2026-06-02-datacenters-deprecated" },
    });
  });

  test.each([
    ["datacenter instead of location", { datacenter: "fsn1-dc14" }],
    ["datacenter next to location", { datacenter: "fsn1-dc14", location: "fsn1" }],
  ])("POST /primary_ips with %s is 422 invalid_input naming datacenter", async (_, fields) => {
    const res = await t.api("POST", "/primary_ips", { name: `ip-${++serverCount}`, type: "ipv6", ...fields });
    expect({ status: res.status, error: res.body.error }).toEqual(datacenter);
  });

  test("a primary IP reports assignee_type unassigned without an assignee, server with one", async () => {
    const created = await t.api("POST", "/primary_ips", {
      name: "pip-unassigned",
      type: "ipv6",
      location: "fsn1",
    });
    expect(created.body.primary_ip).toMatchObject({ assignee_type: "unassigned", assignee_id: null });
    expect(created.body.primary_ip).not.toHaveProperty("datacenter");
    const server = (await create({ public_net: { enable_ipv4: false, ipv6: created.body.primary_ip.id } }))
      .body.server;
    const assigned = (await t.api("GET", `/primary_ips/${created.body.primary_ip.id}`)).body.primary_ip;
    expect(assigned).toMatchObject({ assignee_type: "server", assignee_id: server.id });
    expect(server).not.toHaveProperty("datacenter");
    await t.api("POST", `/servers/${server.id}/actions/poweroff`);
    await t.api("POST", `/primary_ips/${created.body.primary_ip.id}/actions/unassign`);
    const unassigned = (await t.api("GET", `/primary_ips/${created.body.primary_ip.id}`)).body.primary_ip;
    expect(unassigned).toMatchObject({ assignee_type: "unassigned", assignee_id: null });
  });

  test("debian-12 and debian-13 exist once per architecture, none deprecated", async () => {
    const res = await t.api("GET", "/images?name=debian-13");
    expect(res.body.images.map((i: { architecture: string }) => i.architecture)).toEqual(["x86", "arm"]);
    for (const name of ["debian-12", "debian-13"]) {
      for (const architecture of ["x86", "arm"]) {
        const found = await t.api(
          "GET",
          `/images?architecture=${architecture}&include_deprecated=true&name=${name}`,
        );
        expect(found.body.images).toEqual([
          expect.objectContaining({ name, architecture, deprecated: null, deprecation: null }),
        ]);
      }
    }
  });

  test("GET /locations lists all six locations with the fields the provider decodes", async () => {
    const res = await t.api("GET", "/locations?page=1&per_page=50");
    expect(
      res.body.locations.map((l: { name: string; network_zone: string }) => [l.name, l.network_zone]),
    ).toEqual([
      ["fsn1", "eu-central"],
      ["nbg1", "eu-central"],
      ["hel1", "eu-central"],
      ["ash", "us-east"],
      ["hil", "us-west"],
      ["sin", "ap-southeast"],
    ]);
    expect(Object.keys(res.body.locations[4]).sort()).toEqual([
      "city",
      "country",
      "description",
      "id",
      "latitude",
      "longitude",
      "name",
      "network_zone",
    ]);
  });

  test("load balancer types carry a deprecation object, null for lb11, lb21 and lb31", async () => {
    const res = await t.api("GET", "/load_balancer_types");
    expect(
      res.body.load_balancer_types.map((type: { name: string; deprecation: unknown }) => [
        type.name,
        type.deprecation,
      ]),
    ).toEqual([
      ["lb11", null],
      ["lb21", null],
      ["lb31", null],
    ]);
  });
});
