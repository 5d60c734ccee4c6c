import { HostBackend, HostSpec, InMemoryHostBackend } from "../../../../local/emulator/hostBackend";
import { TestEmulator, newPublicKey, serverCreateBody, startTestEmulator } from "./support";

describe("emulator: servers", () => {
  let t: TestEmulator;
  let srv: number;

  beforeEach(async () => {
    t = await startTestEmulator();
    srv = (await t.api("POST", "/servers", serverCreateBody())).body.server.id;
  });
  afterEach(() => t.close());

  const status = async () => (await t.api("GET", `/servers/${srv}`)).body.server.status;

  test.each([
    ["poweroff", "stop_server", "off"],
    ["shutdown", "shutdown_server", "off"],
    ["reset", "reset_server", "running"],
    ["reboot", "reboot_server", "running"],
    ["poweron", "start_server", "running"],
  ])(
    "POST actions/%s without a body answers 201 %s and leaves the server %s",
    async (action, command, expected) => {
      const res = await t.api("POST", `/servers/${srv}/actions/${action}`);
      expect(res.status).toBe(201);
      expect(res.body.action).toMatchObject({
        command,
        status: "success",
        resources: [{ id: srv, type: "server" }],
      });
      expect(await status()).toBe(expected);
      // reset and reboot boot the machine again; the others leave it running.
      expect(t.hosts.reboots.get(srv) ?? 0).toBe(["reset", "reboot"].includes(action) ? 1 : 0);
    },
  );

  test("change_type needs a stopped server, then upgrades type and disk and starts it again", async () => {
    const body = { server_type: "cx33", upgrade_disk: true };
    const running = await t.api("POST", `/servers/${srv}/actions/change_type`, body);
    expect(running.status).toBe(422);
    expect(running.body.error.code).toBe("server_not_stopped");
    await t.api("POST", `/servers/${srv}/actions/poweroff`);
    const res = await t.api("POST", `/servers/${srv}/actions/change_type`, body);
    expect(res.body.action.command).toBe("change_server_type");
    const server = (await t.api("GET", `/servers/${srv}`)).body.server;
    expect(server).toMatchObject({ status: "running", server_type: { name: "cx33" }, primary_disk_size: 80 });
  });

  test("change_type to an arm type is 422 invalid_server_type", async () => {
    await t.api("POST", `/servers/${srv}/actions/poweroff`);
    const res = await t.api("POST", `/servers/${srv}/actions/change_type`, {
      server_type: "cax11",
      upgrade_disk: false,
    });
    expect(res.body.error.code).toBe("invalid_server_type");
  });

  test("delete protection makes DELETE 423 protected; delete and rebuild must match", async () => {
    const mismatch = await t.api("POST", `/servers/${srv}/actions/change_protection`, {
      delete: true,
      rebuild: false,
    });
    expect(mismatch.body.error.details.fields[0].name).toBe("rebuild");
    await t.api("POST", `/servers/${srv}/actions/change_protection`, { delete: true, rebuild: true });
    expect((await t.api("GET", `/servers/${srv}`)).body.server.protection).toEqual({
      delete: true,
      rebuild: true,
    });
    const res = await t.api("DELETE", `/servers/${srv}`);
    expect(res.status).toBe(423);
    expect(res.body.error.code).toBe("protected");
  });

  test("enable_backup sets a backup window and disable_backup clears it to null", async () => {
    await t.api("POST", `/servers/${srv}/actions/enable_backup`);
    expect((await t.api("GET", `/servers/${srv}`)).body.server.backup_window).toBe("22-02");
    await t.api("POST", `/servers/${srv}/actions/disable_backup`);
    expect((await t.api("GET", `/servers/${srv}`)).body.server.backup_window).toBeNull();
  });

  test("PUT renames and relabels in separate calls, like the provider", async () => {
    expect((await t.api("PUT", `/servers/${srv}`, { name: "web-2" })).body.server.name).toBe("web-2");
    const res = await t.api("PUT", `/servers/${srv}`, { labels: { app: "api" } });
    expect(res.body.server).toMatchObject({ name: "web-2", labels: { app: "api" } });
  });

  test("PUT {} changes nothing and a clashing name is 409", async () => {
    expect((await t.api("PUT", `/servers/${srv}`, {})).body.server.name).toBe("web-1-7a6b5c4");
    await t.api("POST", "/servers", serverCreateBody({ name: "taken" }));
    expect((await t.api("PUT", `/servers/${srv}`, { name: "taken" })).status).toBe(409);
  });

  test("lists filter by name, label_selector and status", async () => {
    await t.api("POST", "/servers", serverCreateBody({ name: "db-1", labels: { role: "db" } }));
    await t.api("POST", `/servers/${srv}/actions/poweroff`);
    const names = async (query: string) =>
      (await t.api("GET", `/servers?${query}`)).body.servers.map((s: { name: string }) => s.name);
    expect(await names("name=db-1")).toEqual(["db-1"]);
    expect(await names("label_selector=role%3Ddb")).toEqual(["db-1"]);
    expect(await names("label_selector=!role")).toEqual(["web-1-7a6b5c4"]);
    expect(await names("status=off")).toEqual(["web-1-7a6b5c4"]);
  });

  test("the image may be given by name and the key by name, as the API allows", async () => {
    const key = await t.api("POST", "/ssh_keys", { name: "by-name", public_key: newPublicKey() });
    expect(key.status).toBe(201);
    const res = await t.api(
      "POST",
      "/servers",
      serverCreateBody({ name: "named", image: "ubuntu-24.04", ssh_keys: ["by-name"] }),
    );
    expect(res.body.server.image).toMatchObject({ id: 6024, name: "ubuntu-24.04", architecture: "x86" });
    expect(t.hosts.hosts.get(res.body.server.id)?.authorizedKeys).toEqual([key.body.ssh_key.public_key]);
  });

  test.each([
    ["cax11", "arm"],
    ["cx23", "x86"],
  ])("a %s server's host is asked for with its type's architecture, %s", async (serverType, architecture) => {
    const body = serverCreateBody({ name: `on-${serverType}`, server_type: serverType, image: "debian-12" });
    const res = await t.api("POST", "/servers", body);
    expect(res.body.server.server_type).toMatchObject({ name: serverType, architecture });
    expect(t.hosts.hosts.get(res.body.server.id)?.architecture).toBe(architecture);
  });
});

describe("emulator: a host that fails to come up", () => {
  const failing: HostBackend = Object.assign(new InMemoryHostBackend(), {
    create: async (server: HostSpec) => {
      throw new Error(`cloud-init of server ${server.name} cannot bring up a host: no pinned SSH host key`);
    },
  });

  test("fails the create_server action with the reason and leaves the server off", async () => {
    const t = await startTestEmulator({ hosts: failing });
    try {
      const res = await t.api("POST", "/servers", serverCreateBody());
      expect(res.status).toBe(201);
      expect(res.body.action).toMatchObject({
        command: "create_server",
        status: "error",
        error: { code: "action_failed", message: expect.stringContaining("no pinned SSH host key") },
      });
      expect(res.body.next_actions).toEqual([]);
      expect(res.body.server.status).toBe("off");
      const polled = await t.api("GET", `/actions?id=${res.body.action.id}`);
      expect(polled.body.actions[0].status).toBe("error");
    } finally {
      await t.close();
    }
  });
});
