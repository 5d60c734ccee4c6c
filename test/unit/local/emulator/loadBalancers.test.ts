import { RFC3339, TestEmulator, serverCreateBody, startTestEmulator } from "./support";

/**
 * The requests of `pulumi up` / `destroy` for this program's LoadBalancer component, in the provider's
 * order (shared notes: hcloud-lb-api-notes.md sections 4 to 6 and 11), with the JSON it decodes.
 */
describe("emulator: load balancer lifecycle", () => {
  let t: TestEmulator;
  const ids = { lb: 0, network: 0, a: 0, b: 0 };
  const target = (id: number) => ({ type: "server", server: { id }, use_private_ip: true });

  beforeAll(async () => {
    t = await startTestEmulator();
    ids.a = (await t.api("POST", "/servers", serverCreateBody({ name: "a" }))).body.server.id;
    ids.b = (
      await t.api("POST", "/servers", serverCreateBody({ name: "b", location: "nbg1" }))
    ).body.server.id;
    ids.network = (await t.api("POST", "/networks", { name: "n", ip_range: "10.0.0.0/16" })).body.network.id;
    const subnet = { type: "cloud", ip_range: "10.0.0.0/24", network_zone: "eu-central" };
    await t.api("POST", `/networks/${ids.network}/actions/add_subnet`, subnet);
  });
  afterAll(() => t.close());

  test("POST /load_balancers answers 201 with the shape the provider decodes and a finished action", async () => {
    const res = await t.api("POST", "/load_balancers", {
      name: "web-lb-balancer-3f2a1c9",
      load_balancer_type: "lb11",
      location: "fsn1",
      labels: { stack: "prod" },
    });
    expect(res.status).toBe(201);
    expect(res.body.action).toMatchObject({
      command: "create_load_balancer",
      status: "success",
      progress: 100,
    });
    const lb = res.body.load_balancer;
    ids.lb = lb.id;
    expect(lb).toEqual({
      id: expect.any(Number),
      name: "web-lb-balancer-3f2a1c9",
      // A bare IPv6 address (not a CIDR) and dns_ptr strings or null: both are decoded strictly.
      public_net: {
        enabled: true,
        ipv4: { ip: expect.stringMatching(/^203\.0\.113\.\d+$/), dns_ptr: null },
        ipv6: { ip: "fd5e:0:0:3::1", dns_ptr: null },
      },
      private_net: [],
      location: expect.objectContaining({ name: "fsn1", network_zone: "eu-central" }),
      load_balancer_type: expect.objectContaining({ name: "lb11", max_targets: 25, deprecated: null }),
      protection: { delete: false },
      labels: { stack: "prod" },
      created: expect.stringMatching(RFC3339),
      algorithm: { type: "round_robin" },
      services: [],
      targets: [],
      outgoing_traffic: null,
      ingoing_traffic: null,
      included_traffic: 21990232555520,
    });
    expect(t.lbs.loadBalancers.get(ids.lb)).toMatchObject({
      ipv6: "fd5e:0:0:3::1",
      services: [],
      targets: [],
    });
  });

  test("add_service with the provider's body: the service is there at once, defaults filled, status codes echoed", async () => {
    const res = await t.api("POST", `/load_balancers/${ids.lb}/actions/add_service`, {
      protocol: "http",
      listen_port: 80,
      destination_port: 80,
      health_check: {
        protocol: "http",
        port: 80,
        interval: 15,
        timeout: 10,
        retries: 3,
        http: { domain: "", path: "/healthz", response: "", tls: false, status_codes: ["2??", "3??"] },
      },
    });
    expect([res.status, res.body.action.command]).toEqual([201, "add_service"]);
    const lb = (await t.api("GET", `/load_balancers/${ids.lb}`)).body.load_balancer;
    expect(lb.services).toEqual([
      {
        protocol: "http",
        listen_port: 80,
        destination_port: 80,
        proxyprotocol: false,
        health_check: {
          protocol: "http",
          port: 80,
          interval: 15,
          timeout: 10,
          retries: 3,
          http: { domain: null, path: "/healthz", response: "", status_codes: ["2??", "3??"], tls: false },
        },
        http: {
          cookie_name: "HCLBSTICKY",
          cookie_lifetime: 300,
          certificates: [],
          redirect_http: false,
          sticky_sessions: false,
          timeout_idle: 50,
        },
      },
    ]);
  });

  test.each([
    [
      "a public target (IPv6-only servers have no IPv4)",
      () => ({ type: "server", server: { id: ids.a } }),
      422,
      "resolve_cloud_public_targets_error",
    ],
    [
      "a private target before the load balancer is in a network",
      () => target(ids.a),
      422,
      "load_balancer_not_attached_to_network",
    ],
    [
      "a label selector target",
      () => ({ type: "label_selector", label_selector: { selector: "a=b" } }),
      422,
      "unsupported_error",
    ],
  ])("add_target refuses %s", async (_name, body, status, code) => {
    const res = await t.api("POST", `/load_balancers/${ids.lb}/actions/add_target`, body());
    expect([res.status, res.body.error.code]).toEqual([status, code]);
  });

  test("attach_to_network, then add_target for a server outside the network is refused", async () => {
    await t.api("POST", `/load_balancers/${ids.lb}/actions/attach_to_network`, { network: ids.network });
    const res = await t.api("POST", `/load_balancers/${ids.lb}/actions/add_target`, target(ids.a));
    expect([res.status, res.body.error.code]).toEqual([422, "resolve_cloud_private_targets_error"]);
  });

  test("with both servers in the network, add_target takes them; targets carry server.id and health", async () => {
    for (const id of [ids.a, ids.b]) {
      await t.api("POST", `/servers/${id}/actions/attach_to_network`, { network: ids.network });
      const res = await t.api("POST", `/load_balancers/${ids.lb}/actions/add_target`, target(id));
      expect([res.status, res.body.action.command]).toEqual([201, "add_target"]);
    }
    const lb = (await t.api("GET", `/load_balancers/${ids.lb}`)).body.load_balancer;
    expect(lb.targets).toEqual(
      [ids.a, ids.b].map((id) => ({
        type: "server",
        server: { id },
        use_private_ip: true,
        health_status: [{ listen_port: 80, status: "healthy" }],
      })),
    );
    expect((await t.api("GET", `/servers/${ids.a}`)).body.server.load_balancers).toEqual([ids.lb]);
  });

  test("the backend is asked for a proxy on the LB's IPv6 forwarding to the servers' private addresses", () => {
    const spec = t.lbs.loadBalancers.get(ids.lb)!;
    // Load balancer first (10.0.0.2), then a (10.0.0.3) and b (10.0.0.4) in the order they joined.
    expect([spec.privateIp, spec.targets]).toEqual([
      "10.0.0.2",
      [
        { serverId: ids.a, address: "10.0.0.3" },
        { serverId: ids.b, address: "10.0.0.4" },
      ],
    ]);
    expect(spec.services.map((s) => [s.protocol, s.listen_port, s.health_check.http?.path])).toEqual([
      ["http", 80, "/healthz"],
    ]);
  });

  test("a second target for the same server is target_already_defined (which the provider accepts)", async () => {
    const res = await t.api("POST", `/load_balancers/${ids.lb}/actions/add_target`, target(ids.a));
    expect([res.status, res.body.error.code]).toEqual([422, "target_already_defined"]);
  });

  test("update_service merges; a second service on a used port is source_port_already_used (412)", async () => {
    const update = await t.api("POST", `/load_balancers/${ids.lb}/actions/update_service`, {
      listen_port: 80,
      protocol: "http",
      destination_port: 8080,
      proxyprotocol: false,
      http: {
        cookie_name: "HCLBSTICKY",
        cookie_lifetime: 300,
        redirect_http: false,
        sticky_sessions: false,
        timeout_idle: 50,
      },
    });
    expect(update.status).toBe(201);
    const service = (await t.api("GET", `/load_balancers/${ids.lb}`)).body.load_balancer.services[0];
    expect([service.destination_port, service.health_check.http.path]).toEqual([8080, "/healthz"]);
    const clash = await t.api("POST", `/load_balancers/${ids.lb}/actions/add_service`, {
      protocol: "tcp",
      listen_port: 80,
    });
    expect([clash.status, clash.body.error.code]).toEqual([412, "source_port_already_used"]);
  });

  test("deleting a server drops its target, as the provider expects of a server deleted first", async () => {
    await t.api("DELETE", `/servers/${ids.b}`);
    const lb = (await t.api("GET", `/load_balancers/${ids.lb}`)).body.load_balancer;
    expect(lb.targets.map((x: { server: { id: number } }) => x.server.id)).toEqual([ids.a]);
    expect(t.lbs.loadBalancers.get(ids.lb)!.targets).toEqual([{ serverId: ids.a, address: "10.0.0.3" }]);
  });

  test("destroy order: remove_target, delete_service, DELETE → 204; then 404 and an empty ?name= list", async () => {
    const removed = await t.api("POST", `/load_balancers/${ids.lb}/actions/remove_target`, {
      type: "server",
      server: { id: ids.a },
    });
    expect(removed.status).toBe(201);
    const again = await t.api("POST", `/load_balancers/${ids.lb}/actions/remove_target`, {
      type: "server",
      server: { id: ids.a },
    });
    expect([again.status, again.body.error.code]).toEqual([404, "load_balancer_target_not_found"]);
    expect(
      (await t.api("POST", `/load_balancers/${ids.lb}/actions/delete_service`, { listen_port: 80 })).status,
    ).toBe(201);
    expect((await t.api("DELETE", `/load_balancers/${ids.lb}`)).status).toBe(204);
    expect((await t.api("GET", `/load_balancers/${ids.lb}`)).status).toBe(404);
    expect((await t.api("GET", "/load_balancers?name=web-lb-balancer-3f2a1c9")).body.load_balancers).toEqual(
      [],
    );
    expect(t.lbs.loadBalancers.has(ids.lb)).toBe(false);
    expect((await t.api("GET", `/networks/${ids.network}`)).body.network.load_balancers).toEqual([]);
  });

  test.each([
    [{ name: "x", load_balancer_type: "lb99", location: "fsn1" }, 422, "invalid_input"],
    [{ name: "x", load_balancer_type: "lb11", location: "fra1" }, 422, "invalid_input"],
    [{ name: "x", load_balancer_type: "lb11", location: "fsn1", services: [] }, 422, "unsupported_error"],
  ])("POST /load_balancers %j is refused", async (body, status, code) => {
    const res = await t.api("POST", "/load_balancers", body);
    expect([res.status, res.body.error.code]).toEqual([status, code]);
  });
});
