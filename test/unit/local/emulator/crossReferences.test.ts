import { TestEmulator, serverCreateBody, startTestEmulator } from "./support";

/** Primary IP ↔ server and firewall ↔ server links, and the deletes they block. */
describe("emulator: cross-references", () => {
  let t: TestEmulator;
  let counter = 0;

  beforeEach(async () => {
    t = await startTestEmulator();
  });
  afterEach(() => t.close());

  async function primaryIp(location = "fsn1"): Promise<number> {
    const res = await t.api("POST", "/primary_ips", { name: `ip-${++counter}`, type: "ipv6", location });
    return res.body.primary_ip.id;
  }

  async function firewall(extra: Record<string, unknown> = {}): Promise<number> {
    const res = await t.api("POST", "/firewalls", { name: `fw-${++counter}`, ...extra });
    return res.body.firewall.id;
  }

  async function server(overrides: Record<string, unknown> = {}): Promise<number> {
    const res = await t.api("POST", "/servers", serverCreateBody({ name: `srv-${++counter}`, ...overrides }));
    expect(res.status).toBe(201);
    return res.body.server.id;
  }

  test("a firewall still applied cannot be deleted (422 resource_in_use) until removed from its servers", async () => {
    const fw = await firewall();
    const srv = await server({ firewalls: [{ firewall: fw }] });
    const refused = await t.api("DELETE", `/firewalls/${fw}`);
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe("resource_in_use");
    const removed = await t.api("POST", `/firewalls/${fw}/actions/remove_from_resources`, {
      remove_from: [{ type: "server", server: { id: srv } }],
    });
    expect(removed.status).toBe(201);
    expect(removed.body.actions).toEqual([
      expect.objectContaining({
        command: "remove_firewall",
        resources: [
          { id: fw, type: "firewall" },
          { id: srv, type: "server" },
        ],
      }),
    ]);
    expect((await t.api("GET", `/servers/${srv}`)).body.server.public_net.firewalls).toEqual([]);
    expect((await t.api("DELETE", `/firewalls/${fw}`)).status).toBe(204);
  });

  test("apply_to_resources links both ways, and applying twice is 422 firewall_already_applied", async () => {
    const fw = await firewall();
    const srv = await server();
    const body = { apply_to: [{ type: "server", server: { id: srv } }] };
    const applied = await t.api("POST", `/firewalls/${fw}/actions/apply_to_resources`, body);
    expect(applied.status).toBe(201);
    expect(applied.body.actions).toEqual([
      expect.objectContaining({ command: "apply_firewall", status: "success" }),
    ]);
    expect((await t.api("GET", `/servers/${srv}`)).body.server.public_net.firewalls).toEqual([
      { id: fw, status: "applied" },
    ]);
    const again = await t.api("POST", `/firewalls/${fw}/actions/apply_to_resources`, body);
    expect(again.status).toBe(422);
    expect(again.body.error.code).toBe("firewall_already_applied");
  });

  test.each([
    ["apply_to_resources", "apply_to"],
    ["remove_from_resources", "remove_from"],
  ])("%s with an empty list answers 201 with no actions", async (action, key) => {
    const fw = await firewall();
    const res = await t.api("POST", `/firewalls/${fw}/actions/${action}`, { [key]: [] });
    expect(res).toMatchObject({ status: 201, body: { actions: [] } });
  });

  test("applying to a missing server or removing an unapplied one is 404 firewall_resource_not_found", async () => {
    const fw = await firewall();
    const target = { type: "server", server: { id: 4999 } };
    const apply = await t.api("POST", `/firewalls/${fw}/actions/apply_to_resources`, { apply_to: [target] });
    expect(apply.status).toBe(404);
    expect(apply.body.error.code).toBe("firewall_resource_not_found");
    const remove = await t.api("POST", `/firewalls/${fw}/actions/remove_from_resources`, {
      remove_from: [target],
    });
    expect(remove.body.error.code).toBe("firewall_resource_not_found");
  });

  test("a label selector reaches matching servers, which cannot be removed one by one", async () => {
    const fw = await firewall({
      apply_to: [{ type: "label_selector", label_selector: { selector: "role=web" } }],
    });
    const web = await server({ labels: { role: "web" } });
    await server({ labels: { role: "db" } });
    const got = await t.api("GET", `/firewalls/${fw}`);
    expect(got.body.firewall.applied_to).toEqual([
      {
        type: "label_selector",
        label_selector: { selector: "role=web" },
        applied_to_resources: [{ type: "server", server: { id: web } }],
      },
    ]);
    expect((await t.api("GET", `/servers/${web}`)).body.server.public_net.firewalls).toEqual([
      { id: fw, status: "applied" },
    ]);
    const remove = await t.api("POST", `/firewalls/${fw}/actions/remove_from_resources`, {
      remove_from: [{ type: "server", server: { id: web } }],
    });
    expect(remove.status).toBe(422);
    expect(remove.body.error.code).toBe("firewall_managed_by_label_selector");
  });

  test("set_rules replaces the rules and answers one set_firewall_rules plus one apply_firewall per server", async () => {
    const fw = await firewall();
    const srv = await server({ firewalls: [{ firewall: fw }] });
    const rules = [{ direction: "out", protocol: "udp", port: "53", destination_ips: ["::/0"] }];
    const res = await t.api("POST", `/firewalls/${fw}/actions/set_rules`, { rules });
    expect(res.status).toBe(201);
    expect(res.body.actions.map((a: { command: string }) => a.command)).toEqual([
      "set_firewall_rules",
      "apply_firewall",
    ]);
    expect(res.body.actions[1].resources).toContainEqual({ id: srv, type: "server" });
    expect((await t.api("GET", `/firewalls/${fw}`)).body.firewall.rules).toEqual([
      {
        direction: "out",
        protocol: "udp",
        port: "53",
        source_ips: [],
        destination_ips: ["::/0"],
        description: null,
      },
    ]);
  });

  test("an assigned primary IP cannot be deleted (422 must_be_unassigned)", async () => {
    const ip = await primaryIp();
    await server({ public_net: { enable_ipv4: false, enable_ipv6: true, ipv6: ip } });
    const res = await t.api("DELETE", `/primary_ips/${ip}`);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("must_be_unassigned");
  });

  test("the provider's primary IP delete path works: poweroff, unassign, poweron, delete", async () => {
    const ip = await primaryIp();
    const srv = await server({ public_net: { enable_ipv4: false, enable_ipv6: true, ipv6: ip } });
    const running = await t.api("POST", `/primary_ips/${ip}/actions/unassign`);
    expect(running.status).toBe(422);
    expect(running.body.error.code).toBe("server_not_stopped");
    expect((await t.api("POST", `/servers/${srv}/actions/poweroff`)).status).toBe(201);
    const unassign = await t.api("POST", `/primary_ips/${ip}/actions/unassign`);
    expect(unassign.body.action).toMatchObject({ command: "unassign_primary_ip", status: "success" });
    expect((await t.api("POST", `/servers/${srv}/actions/poweron`)).status).toBe(201);
    expect((await t.api("GET", `/servers/${srv}`)).body.server.public_net.ipv6).toBeNull();
    expect((await t.api("DELETE", `/primary_ips/${ip}`)).status).toBe(204);
  });

  test("assign needs a stopped server without IPv6, and then shows up on the server", async () => {
    const srv = await server();
    const ip = await primaryIp();
    const body = { assignee_id: srv, assignee_type: "server" };
    expect((await t.api("POST", `/primary_ips/${ip}/actions/assign`, body)).body.error.code).toBe(
      "server_not_stopped",
    );
    await t.api("POST", `/servers/${srv}/actions/poweroff`);
    expect((await t.api("POST", `/primary_ips/${ip}/actions/assign`, body)).body.error.code).toBe(
      "server_has_ipv6",
    );
    const auto = (await t.api("GET", `/servers/${srv}`)).body.server.public_net.ipv6.id;
    await t.api("POST", `/primary_ips/${auto}/actions/unassign`);
    const assigned = await t.api("POST", `/primary_ips/${ip}/actions/assign`, body);
    expect(assigned.body.action).toMatchObject({ command: "assign_primary_ip", status: "success" });
    expect((await t.api("GET", `/servers/${srv}`)).body.server.public_net.ipv6.id).toBe(ip);
  });

  test.each([
    ["already assigned to another server", "fsn1", true, "primary_ip_assigned"],
    ["in another location", "hel1", false, "primary_ip_datacenter_mismatch"],
  ])("a server create with a primary IP %s is 422 %s", async (_, location, assignFirst, code) => {
    const ip = await primaryIp(location);
    const publicNet = { enable_ipv4: false, enable_ipv6: true, ipv6: ip };
    if (assignFirst) await server({ public_net: publicNet });
    const res = await t.api("POST", "/servers", serverCreateBody({ name: "second", public_net: publicNet }));
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe(code);
  });

  test("without a primary IP ID the server gets an auto-delete one, deleted with the server", async () => {
    const srv = await server();
    const ipv6 = (await t.api("GET", `/servers/${srv}`)).body.server.public_net.ipv6;
    const ip = await t.api("GET", `/primary_ips/${ipv6.id}`);
    expect(ip.body.primary_ip).toMatchObject({ auto_delete: true, assignee_id: srv, ip: ipv6.ip });
    await t.api("DELETE", `/servers/${srv}`);
    expect((await t.api("GET", `/primary_ips/${ipv6.id}`)).status).toBe(404);
  });

  test("a primary IP created with an assignee is assigned at once with an assign action", async () => {
    const srv = await server();
    await t.api("POST", `/servers/${srv}/actions/poweroff`);
    const auto = (await t.api("GET", `/servers/${srv}`)).body.server.public_net.ipv6.id;
    await t.api("POST", `/primary_ips/${auto}/actions/unassign`);
    const res = await t.api("POST", "/primary_ips", {
      name: "assigned",
      type: "ipv6",
      assignee_id: srv,
      assignee_type: "server",
    });
    expect(res.status).toBe(201);
    expect(res.body.primary_ip).toMatchObject({ assignee_id: srv, location: { name: "fsn1" } });
    expect(res.body.action).toMatchObject({ command: "assign_primary_ip", status: "success" });
  });
});
