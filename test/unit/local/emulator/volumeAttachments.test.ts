import { InMemoryHostBackend } from "../../../../local/emulator/hostBackend";
import { TestEmulator, serverCreateBody, startTestEmulator } from "./support";

/**
 * Volume actions as hcloud_volume and hcloud_volume_attachment call them (terraform-provider-hcloud
 * internal/volume/resource.go, resource_attachment.go): attach, detach, resize, and what a server's
 * delete does to its volumes; each reaches the host backend before it is answered.
 */
describe("emulator: volume actions", () => {
  let t: TestEmulator;
  const ids = { a: 0, b: 0, far: 0, volume: 0 };
  const action = (name: string, body?: unknown, id = ids.volume) =>
    t.api("POST", `/volumes/${id}/actions/${name}`, body);
  const volume = async () => (await t.api("GET", `/volumes/${ids.volume}`)).body.volume;
  const serverVolumes = async (id: number) => (await t.api("GET", `/servers/${id}`)).body.server.volumes;

  beforeAll(async () => {
    t = await startTestEmulator();
    ids.a = (await t.api("POST", "/servers", serverCreateBody({ name: "a" }))).body.server.id;
    ids.b = (await t.api("POST", "/servers", serverCreateBody({ name: "b" }))).body.server.id;
    ids.far = (
      await t.api("POST", "/servers", serverCreateBody({ name: "far", location: "nbg1" }))
    ).body.server.id;
    const created = await t.api("POST", "/volumes", {
      name: "data",
      size: 10,
      location: "fsn1",
      format: "ext4",
    });
    ids.volume = created.body.volume.id;
  });
  afterAll(() => t.close());

  test("attach answers a finished attach_volume; the volume names the server and the server the volume", async () => {
    const res = await action("attach", { server: ids.a, automount: false });
    expect(res.status).toBe(201);
    expect(res.body.action).toMatchObject({
      command: "attach_volume",
      status: "success",
      resources: [
        { id: ids.a, type: "server" },
        { id: ids.volume, type: "volume" },
      ],
    });
    expect((await volume()).server).toBe(ids.a);
    expect(await serverVolumes(ids.a)).toEqual([ids.volume]);
    expect(t.hosts.attachments.get(ids.volume)).toBe(ids.a);
  });

  test.each([
    ["to another server while attached", "attach", () => ({ server: ids.b }), 422, "volume_already_attached"],
    ["to the server it is attached to", "attach", () => ({ server: ids.a }), 422, "volume_already_attached"],
    ["without a server", "attach", () => ({}), 422, "invalid_input"],
    ["to an unknown server", "attach", () => ({ server: 4999 }), 422, "invalid_input"],
    ["to a smaller size", "resize", () => ({ size: 9 }), 422, "invalid_input"],
    ["to the same size", "resize", () => ({ size: 10 }), 422, "invalid_input"],
    ["past 10240 GB", "resize", () => ({ size: 10241 }), 422, "invalid_input"],
    ["without a size", "resize", () => ({}), 422, "invalid_input"],
    ["of protection without delete", "change_protection", () => ({}), 422, "invalid_input"],
  ])("an action %s is refused", async (_name, name, body, status, code) => {
    const res = await action(name, body());
    expect([res.status, res.body.error.code]).toEqual([status, code]);
    expect((await volume()).server).toBe(ids.a);
  });

  test("attaching while attached says which server has it, as hcloud-go's code means", async () => {
    const res = await action("attach", { server: ids.b });
    expect(res.body.error).toEqual({
      code: "volume_already_attached",
      message: `volume ${ids.volume} is already attached to server ${ids.a}, detach first`,
      details: {},
    });
  });

  test.each([
    [9, "size downgrade is not allowed"],
    [10, "volume size is to small"],
  ])("resize to %i GB is refused in the API's words: %s", async (size, message) => {
    const res = await action("resize", { size });
    expect(res.body.error).toEqual({
      code: "invalid_input",
      message,
      details: { fields: [{ name: "size", messages: [message] }] },
    });
  });

  test("resize grows the volume and its disk", async () => {
    const res = await action("resize", { size: 25 });
    expect(res.body.action).toMatchObject({ command: "resize_volume", status: "success" });
    expect((await volume()).size).toBe(25);
    expect(t.hosts.volumes.get(ids.volume)?.sizeGb).toBe(25);
  });

  test("detach frees the volume; detaching it again is a successful no-op", async () => {
    const res = await action("detach");
    expect(res.body.action).toMatchObject({
      command: "detach_volume",
      status: "success",
      resources: [
        { id: ids.a, type: "server" },
        { id: ids.volume, type: "volume" },
      ],
    });
    expect((await volume()).server).toBeNull();
    expect(await serverVolumes(ids.a)).toEqual([]);
    expect(t.hosts.attachments.has(ids.volume)).toBe(false);
    const again = await action("detach");
    expect(again.body.action).toMatchObject({
      status: "success",
      resources: [{ id: ids.volume, type: "volume" }],
    });
  });

  test("a server in another location is refused (invalid_input on server: the emulator's choice)", async () => {
    const res = await action("attach", { server: ids.far });
    expect(res.body.error).toEqual({
      code: "invalid_input",
      message: `invalid input in field 'server': server ${ids.far} is in nbg1, volume ${ids.volume} in fsn1`,
      details: {
        fields: [
          { name: "server", messages: [`server ${ids.far} is in nbg1, volume ${ids.volume} in fsn1`] },
        ],
      },
    });
  });

  test("deleting a server detaches its volumes, which stay", async () => {
    await action("attach", { server: ids.b });
    expect((await t.api("DELETE", `/servers/${ids.b}`)).status).toBe(200);
    expect(await volume()).toMatchObject({ id: ids.volume, server: null, size: 25 });
    expect(t.hosts.attachments.has(ids.volume)).toBe(false);
    expect(t.hosts.volumes.has(ids.volume)).toBe(true);
  });

  test("a server takes 16 volumes; the 17th is limit_exceeded_error", async () => {
    for (let i = 0; i < 16; i++) {
      const res = await t.api("POST", "/volumes", { name: `many-${i}`, size: 10, server: ids.a });
      expect(res.body.next_actions[0].status).toBe("success");
    }
    const res = await action("attach", { server: ids.a });
    expect([res.status, res.body.error.code]).toEqual([422, "limit_exceeded_error"]);
    expect(await serverVolumes(ids.a)).toHaveLength(16);
  });

  test("an unknown volume is 404 not_found", async () => {
    const res = await action("detach", undefined, 8999);
    expect(res.body.error).toEqual({
      code: "not_found",
      message: "volume with ID '8999' not found",
      details: {},
    });
  });
});

describe("emulator: a volume backend that fails or is slow", () => {
  test("a disk that cannot be made fails create_volume with the reason; the volume does not stay", async () => {
    const hosts = Object.assign(new InMemoryHostBackend(), {
      createVolume: async () => {
        throw new Error("volume 8001 cannot be formatted xfs: mkfs.xfs is not installed on this machine");
      },
    });
    const t = await startTestEmulator({ hosts });
    try {
      const res = await t.api("POST", "/volumes", { name: "x", size: 10, location: "fsn1", format: "xfs" });
      expect(res.status).toBe(201);
      expect(res.body.action).toMatchObject({
        command: "create_volume",
        status: "error",
        error: {
          code: "action_failed",
          message: "volume 8001 cannot be formatted xfs: mkfs.xfs is not installed on this machine",
        },
      });
      expect((await t.api("GET", "/volumes/8001")).status).toBe(404);
    } finally {
      await t.close();
    }
  });

  test("an attach that fails leaves the volume detached; one still under way makes a second request 423 locked", async () => {
    let release: () => void = () => undefined;
    let calls = 0;
    const hosts = Object.assign(new InMemoryHostBackend(), {
      attachVolume: async () => {
        calls++;
        if (calls === 1) throw new Error("server 4001 has no running host to attach volume 8001 to");
        await new Promise<void>((resolve) => (release = resolve));
      },
    });
    const t = await startTestEmulator({ hosts });
    try {
      const server = (await t.api("POST", "/servers", serverCreateBody())).body.server.id;
      await t.api("POST", "/volumes", { name: "x", size: 10, location: "fsn1" });
      const failed = await t.api("POST", "/volumes/8001/actions/attach", { server });
      expect(failed.body.action).toMatchObject({
        status: "error",
        error: { code: "action_failed", message: "server 4001 has no running host to attach volume 8001 to" },
      });
      expect((await t.api("GET", "/volumes/8001")).body.volume.server).toBeNull();

      const slow = t.api("POST", "/volumes/8001/actions/attach", { server });
      while (calls < 2) await new Promise((resolve) => setTimeout(resolve, 5));
      const locked = await t.api("POST", "/volumes/8001/actions/detach");
      expect(locked.body.error).toEqual({
        code: "locked",
        message: "cannot perform operation because volume is locked",
        details: {},
      });
      release();
      expect((await slow).body.action.status).toBe("success");
      expect((await t.api("GET", "/volumes/8001")).body.volume.server).toBe(server);
    } finally {
      await t.close();
    }
  });
});
