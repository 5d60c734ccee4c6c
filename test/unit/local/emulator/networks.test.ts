import { RFC3339, TestEmulator, serverCreateBody, startTestEmulator } from "./support";

/**
 * hcloud.Network, NetworkSubnet, ServerNetwork and LoadBalancerNetwork as the provider calls them
 * (terraform-provider-hcloud internal/network and internal/server/resource_network.go): the bodies it
 * sends, and what it reads back from GET /networks, /servers and /load_balancers.
 */
describe("emulator: private networks", () => {
  let t: TestEmulator;
  const ids = { network: 0, server: 0, other: 0, near: 0, lb: 0 };

  beforeAll(async () => {
    t = await startTestEmulator();
    ids.server = (await t.api("POST", "/servers", serverCreateBody())).body.server.id;
    ids.near = (await t.api("POST", "/servers", serverCreateBody({ name: "near" }))).body.server.id;
    ids.other = (
      await t.api(
        "POST",
        "/servers",
        serverCreateBody({ name: "far", location: "ash", server_type: "ccx13" }),
      )
    ).body.server.id;
    const lb = await t.api("POST", "/load_balancers", {
      name: "lb",
      load_balancer_type: "lb11",
      location: "nbg1",
    });
    ids.lb = lb.body.load_balancer.id;
  });
  afterAll(() => t.close());

  test("POST /networks answers 201 with the network; no subnets, routes or members yet", async () => {
    const res = await t.api("POST", "/networks", {
      name: "web-lb-network-1a2b3c4",
      ip_range: "10.0.0.0/16",
      labels: { stack: "prod" },
      expose_routes_to_vswitch: false,
    });
    expect(res.status).toBe(201);
    expect(res.body.network).toEqual({
      id: expect.any(Number),
      name: "web-lb-network-1a2b3c4",
      created: expect.stringMatching(RFC3339),
      ip_range: "10.0.0.0/16",
      subnets: [],
      routes: [],
      servers: [],
      load_balancers: [],
      protection: { delete: false },
      labels: { stack: "prod" },
      expose_routes_to_vswitch: false,
    });
    ids.network = res.body.network.id;
  });

  test("add_subnet takes a cloud subnet in a network zone; the API reports the network's gateway", async () => {
    const res = await t.api("POST", `/networks/${ids.network}/actions/add_subnet`, {
      type: "cloud",
      ip_range: "10.0.0.0/24",
      network_zone: "eu-central",
    });
    expect([res.status, res.body.action.command, res.body.action.status]).toEqual([
      201,
      "add_subnet",
      "success",
    ]);
    const get = await t.api("GET", `/networks/${ids.network}`);
    expect(get.body.network.subnets).toEqual([
      { type: "cloud", ip_range: "10.0.0.0/24", network_zone: "eu-central", gateway: "10.0.0.1" },
    ]);
  });

  test("attach_to_network gives the server the first free address; GET /servers shows it in private_net", async () => {
    const res = await t.api("POST", `/servers/${ids.server}/actions/attach_to_network`, {
      network: ids.network,
      ip_range: "10.0.0.0/24",
    });
    expect([res.status, res.body.action.command]).toEqual([201, "attach_to_network"]);
    expect(res.body.action.resources).toEqual([
      { id: ids.server, type: "server" },
      { id: ids.network, type: "network" },
    ]);
    const server = (await t.api("GET", `/servers/${ids.server}`)).body.server;
    expect(server.private_net).toEqual([
      {
        network: ids.network,
        ip: "10.0.0.2",
        alias_ips: [],
        mac_address: expect.stringMatching(/^86(:[0-9a-f]{2}){5}$/),
      },
    ]);
    expect((await t.api("GET", `/networks/${ids.network}`)).body.network.servers).toEqual([ids.server]);
  });

  test("a load balancer attaches the same way and reports the address in its private_net", async () => {
    const res = await t.api("POST", `/load_balancers/${ids.lb}/actions/attach_to_network`, {
      network: ids.network,
      ip_range: "10.0.0.0/24",
    });
    expect(res.status).toBe(201);
    const lb = (await t.api("GET", `/load_balancers/${ids.lb}`)).body.load_balancer;
    expect(lb.private_net).toEqual([{ network: ids.network, ip: "10.0.0.3" }]);
  });

  test("the backend got the whole membership of the network", () => {
    expect(t.lbs.networks.get(ids.network)).toEqual({
      id: ids.network,
      ipRange: "10.0.0.0/16",
      members: [
        { kind: "server", id: ids.server, ip: "10.0.0.2" },
        { kind: "load_balancer", id: ids.lb, ip: "10.0.0.3" },
      ],
    });
  });

  test.each([
    [
      "attaching twice",
      () => `/servers/${ids.server}/actions/attach_to_network`,
      () => ({ network: ids.network }),
      422,
      "server_already_attached",
    ],
    [
      "a server in another network zone",
      () => `/servers/${ids.other}/actions/attach_to_network`,
      () => ({ network: ids.network }),
      422,
      "invalid_input",
    ],
    [
      "a taken address",
      () => `/servers/${ids.near}/actions/attach_to_network`,
      () => ({ network: ids.network, ip: "10.0.0.2" }),
      422,
      "ip_not_available",
    ],
    [
      "an unknown network",
      () => `/servers/${ids.server}/actions/attach_to_network`,
      () => ({ network: 99 }),
      404,
      "not_found",
    ],
    [
      "a subnet outside the network",
      () => `/networks/${ids.network}/actions/add_subnet`,
      () => ({ type: "cloud", ip_range: "10.1.0.0/24", network_zone: "eu-central" }),
      422,
      "invalid_input",
    ],
    [
      "an overlapping subnet",
      () => `/networks/${ids.network}/actions/add_subnet`,
      () => ({ type: "cloud", ip_range: "10.0.0.0/23", network_zone: "eu-central" }),
      422,
      "invalid_input",
    ],
    [
      "an unknown network zone",
      () => `/networks/${ids.network}/actions/add_subnet`,
      () => ({ type: "cloud", ip_range: "10.0.5.0/24", network_zone: "mars" }),
      422,
      "invalid_input",
    ],
    [
      "a subnet with members",
      () => `/networks/${ids.network}/actions/delete_subnet`,
      () => ({ ip_range: "10.0.0.0/24" }),
      422,
      "service_error",
    ],
  ])("%s is refused", async (_name, path, body, status, code) => {
    const res = await t.api("POST", path(), body());
    expect([res.status, res.body.error.code]).toEqual([status, code]);
    if (code === "invalid_input")
      expect(res.body.error.details.fields).toEqual([expect.objectContaining({ name: expect.any(String) })]);
  });

  test("a public network range is refused", async () => {
    const res = await t.api("POST", "/networks", { name: "pub", ip_range: "8.8.0.0/16" });
    expect([res.status, res.body.error.code]).toEqual([422, "invalid_input"]);
  });

  test("detach_from_network removes the server; a second detach is not_found, which the provider tolerates", async () => {
    const path = `/servers/${ids.server}/actions/detach_from_network`;
    expect((await t.api("POST", path, { network: ids.network })).status).toBe(201);
    expect((await t.api("GET", `/servers/${ids.server}`)).body.server.private_net).toEqual([]);
    const again = await t.api("POST", path, { network: ids.network });
    expect([again.status, again.body.error.code]).toEqual([404, "not_found"]);
  });

  test("deleting the network lets go of its members and the backend forgets it; GET then 404 and ?name= empty", async () => {
    expect((await t.api("DELETE", `/networks/${ids.network}`)).status).toBe(204);
    expect((await t.api("GET", `/load_balancers/${ids.lb}`)).body.load_balancer.private_net).toEqual([]);
    expect((await t.api("GET", `/networks/${ids.network}`)).status).toBe(404);
    expect((await t.api("GET", "/networks?name=web-lb-network-1a2b3c4")).body.networks).toEqual([]);
    expect(t.lbs.networks.has(ids.network)).toBe(false);
  });
});
