import { findLocation, renderLocation } from "../../../../local/emulator/catalog";
import { RFC3339, TestEmulator, serverCreateBody, startTestEmulator } from "./support";

/**
 * hcloud.Volume as the provider calls it (terraform-provider-hcloud internal/volume/resource.go through
 * hcloud-go hcloud/volume.go): the bodies it sends and what it reads back. Attachments, resizes and
 * the backend's part are in volumeAttachments.test.ts.
 */
describe("emulator: volumes", () => {
  let t: TestEmulator;
  const ids = { server: 0, volume: 0 };

  beforeAll(async () => {
    t = await startTestEmulator();
    ids.server = (await t.api("POST", "/servers", serverCreateBody())).body.server.id;
  });
  afterAll(() => t.close());

  test("POST /volumes in a location answers 201 with the volume, a finished create_volume and no next actions", async () => {
    const res = await t.api("POST", "/volumes", {
      name: "db-data-1a2b3c4",
      size: 10,
      location: "fsn1",
      format: "ext4",
      labels: { stack: "prod" },
    });
    expect(res.status).toBe(201);
    ids.volume = res.body.volume.id;
    expect(res.body.volume).toEqual({
      id: 8001,
      name: "db-data-1a2b3c4",
      server: null,
      status: "available",
      location: renderLocation(findLocation("fsn1")!),
      size: 10,
      format: "ext4",
      protection: { delete: false },
      labels: { stack: "prod" },
      linux_device: "/dev/disk/by-id/scsi-0HC_Volume_8001",
      created: expect.stringMatching(RFC3339),
    });
    expect(res.body.action).toMatchObject({
      command: "create_volume",
      status: "success",
      resources: [{ id: 8001, type: "volume" }],
    });
    expect(res.body.next_actions).toEqual([]);
    expect(t.hosts.volumes.get(8001)).toEqual({ id: 8001, sizeGb: 10, format: "ext4" });
  });

  test("a volume created on a server is in its location and attached by the one next action", async () => {
    const res = await t.api("POST", "/volumes", {
      name: "raw",
      size: 20,
      server: ids.server,
      automount: false,
    });
    const id = res.body.volume.id;
    expect(res.body.volume).toMatchObject({ server: ids.server, format: null, location: { name: "fsn1" } });
    expect(res.body.next_actions).toEqual([
      expect.objectContaining({
        command: "attach_volume",
        status: "success",
        resources: [
          { id: ids.server, type: "server" },
          { id, type: "volume" },
        ],
      }),
    ]);
    expect((await t.api("GET", `/servers/${ids.server}`)).body.server.volumes).toEqual([id]);
    expect(t.hosts.volumes.get(id)).toEqual({ id, sizeGb: 20, format: undefined });
    expect(t.hosts.attachments.get(id)).toBe(ids.server);
  });

  test.each([
    ["no name", { size: 10, location: "fsn1" }, 422, "invalid_input", "name"],
    ["a name starting with a dash", { name: "-x", size: 10, location: "fsn1" }, 422, "invalid_input", "name"],
    [
      "a name of 65 characters",
      { name: "a".repeat(65), size: 10, location: "fsn1" },
      422,
      "invalid_input",
      "name",
    ],
    [
      "a taken name",
      { name: "db-data-1a2b3c4", size: 10, location: "fsn1" },
      409,
      "uniqueness_error",
      "name",
    ],
    ["no size", { name: "v", location: "fsn1" }, 422, "invalid_input", "size"],
    ["9 GB", { name: "v", size: 9, location: "fsn1" }, 422, "invalid_input", "size"],
    ["10241 GB", { name: "v", size: 10241, location: "fsn1" }, 422, "invalid_input", "size"],
    ["a size as a string", { name: "v", size: "10", location: "fsn1" }, 422, "invalid_input", "size"],
    ["neither server nor location", { name: "v", size: 10 }, 422, "invalid_input", "location"],
    [
      "both server and location",
      { name: "v", size: 10, server: 4001, location: "fsn1" },
      422,
      "invalid_input",
      "location",
    ],
    ["an unknown location", { name: "v", size: 10, location: "mars" }, 422, "invalid_input", "location"],
    ["an unknown server", { name: "v", size: 10, server: 4999 }, 422, "invalid_input", "server"],
    [
      "format btrfs",
      { name: "v", size: 10, location: "fsn1", format: "btrfs" },
      422,
      "invalid_input",
      "format",
    ],
    [
      "automount without a server",
      { name: "v", size: 10, location: "fsn1", automount: true },
      422,
      "invalid_input",
      "automount",
    ],
  ])("POST /volumes with %s is refused", async (_name, body, status, code, field) => {
    const res = await t.api("POST", "/volumes", body);
    expect([res.status, res.body.error.code]).toEqual([status, code]);
    expect(res.body.error.details.fields[0].name).toBe(field);
  });

  test("automount without format names both fields, as the API does", async () => {
    const res = await t.api("POST", "/volumes", { name: "v", size: 10, server: ids.server, automount: true });
    expect(res.body.error).toEqual({
      code: "invalid_input",
      message: "invalid input in fields 'format', 'automount'",
      details: {
        fields: [
          { name: "format", messages: ["invalid input in fields 'format', 'automount'"] },
          { name: "automount", messages: ["invalid input in fields 'format', 'automount'"] },
        ],
      },
    });
  });

  test("GET /volumes filters by name, label selector and status; no match is an empty list", async () => {
    const names = async (query: string) =>
      (await t.api("GET", `/volumes${query}`)).body.volumes.map((v: { name: string }) => v.name);
    expect(await names("")).toEqual(["db-data-1a2b3c4", "raw"]);
    expect(await names("?name=raw")).toEqual(["raw"]);
    expect(await names("?label_selector=stack%3Dprod")).toEqual(["db-data-1a2b3c4"]);
    expect(await names("?status=available&sort=id:desc")).toEqual(["raw", "db-data-1a2b3c4"]);
    expect(await names("?status=creating")).toEqual([]);
    expect(await names("?name=none")).toEqual([]);
  });

  test("PUT /volumes/{id} renames and replaces the labels; an omitted field stays", async () => {
    const renamed = await t.api("PUT", `/volumes/${ids.volume}`, { name: "db-data" });
    expect(renamed.body.volume).toMatchObject({ name: "db-data", labels: { stack: "prod" } });
    const relabelled = await t.api("PUT", `/volumes/${ids.volume}`, { labels: { tier: "db" } });
    expect(relabelled.body.volume).toMatchObject({ name: "db-data", labels: { tier: "db" } });
    const taken = await t.api("PUT", `/volumes/${ids.volume}`, { name: "raw" });
    expect([taken.status, taken.body.error.code]).toEqual([409, "uniqueness_error"]);
  });

  test("delete protection makes DELETE 423 protected; without it the volume and its disk go", async () => {
    const protect = await t.api("POST", `/volumes/${ids.volume}/actions/change_protection`, { delete: true });
    expect(protect.body.action).toMatchObject({
      command: "change_protection",
      status: "success",
      resources: [{ id: ids.volume, type: "volume" }],
    });
    expect((await t.api("GET", `/volumes/${ids.volume}`)).body.volume.protection).toEqual({ delete: true });
    const refused = await t.api("DELETE", `/volumes/${ids.volume}`);
    expect(refused.status).toBe(423);
    expect(refused.body.error).toEqual({
      code: "protected",
      message: `volume ${ids.volume} is protected against deletion`,
      details: {},
    });
    await t.api("POST", `/volumes/${ids.volume}/actions/change_protection`, { delete: false });
    expect((await t.api("DELETE", `/volumes/${ids.volume}`)).status).toBe(204);
    expect((await t.api("GET", `/volumes/${ids.volume}`)).body.error.code).toBe("not_found");
    expect(t.hosts.volumes.has(ids.volume)).toBe(false);
  });

  test("an attached volume cannot be deleted: 422 service_error in the API's words", async () => {
    const attached = (await t.api("GET", "/volumes?name=raw")).body.volumes[0].id;
    const res = await t.api("DELETE", `/volumes/${attached}`);
    expect(res.status).toBe(422);
    expect(res.body.error).toEqual({
      code: "service_error",
      message: `volume with ID '${attached}' is still attached to a server`,
      details: {},
    });
  });
});
