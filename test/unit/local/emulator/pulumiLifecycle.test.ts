import { RFC3339, TestEmulator, fetchJson, md5Fingerprint, newPublicKey, startTestEmulator } from "./support";

/**
 * The exact request sequence of `pulumi up`, `pulumi refresh` and `pulumi destroy` for this program
 * (SshKey, PrimaryIp, Firewall, Server with firewallIds and publicNets.ipv6), as recorded in
 * shared/hcloud-api-notes.md section 9, with what the provider needs from each answer.
 */
describe("emulator: pulumi up → refresh → destroy", () => {
  let t: TestEmulator;
  const publicKey = newPublicKey();
  const ids = { key: 0, ip: 0, firewall: 0, server: 0 };

  beforeAll(async () => {
    t = await startTestEmulator();
  });
  afterAll(() => t.close());

  test("POST /ssh_keys answers 201 with the key echoed byte for byte and an MD5 fingerprint", async () => {
    const res = await t.api("POST", "/ssh_keys", {
      name: "deploy-key-3f9a1c2",
      public_key: publicKey,
      labels: {},
    });
    expect(res.status).toBe(201);
    expect(res.contentType).toBe("application/json");
    expect(res.body.ssh_key).toEqual({
      id: expect.any(Number),
      name: "deploy-key-3f9a1c2",
      fingerprint: md5Fingerprint(publicKey),
      public_key: publicKey,
      labels: {},
      created: expect.stringMatching(RFC3339),
    });
    ids.key = res.body.ssh_key.id;
  });

  test("POST /primary_ips without assignee_type answers 201 with a /64 from the pool and action null", async () => {
    const res = await t.api("POST", "/primary_ips", {
      name: "web-ipv6-5d2e8aa",
      type: "ipv6",
      labels: {},
      auto_delete: false,
      location: "fsn1",
    });
    expect(res.status).toBe(201);
    expect(res.body.action).toBeNull();
    expect(res.body.primary_ip).toMatchObject({
      name: "web-ipv6-5d2e8aa",
      type: "ipv6",
      ip: "fd5e:0:0:1::/64",
      assignee_type: "unassigned",
      assignee_id: null,
      auto_delete: false,
      labels: {},
      protection: { delete: false },
      location: { name: "fsn1", network_zone: "eu-central" },
    });
    ids.ip = res.body.primary_ip.id;
    const get = await t.api("GET", `/primary_ips/${ids.ip}`);
    expect(get.status).toBe(200);
    expect(get.body.primary_ip).toEqual(res.body.primary_ip);
  });

  test("POST /firewalls answers 201 with rules echoed in full form and no actions", async () => {
    const res = await t.api("POST", "/firewalls", {
      name: "web-fw-0c1d2e3",
      rules: [
        { direction: "in", protocol: "tcp", port: "22", source_ips: ["0.0.0.0/0", "::/0"] },
        { direction: "in", protocol: "icmp", source_ips: ["0.0.0.0/0", "::/0"], description: "ping" },
      ],
    });
    expect(res.status).toBe(201);
    expect(res.body.actions).toEqual([]);
    ids.firewall = res.body.firewall.id;
    const get = await t.api("GET", `/firewalls/${ids.firewall}`);
    expect(get.body.firewall).toEqual({
      id: ids.firewall,
      name: "web-fw-0c1d2e3",
      labels: {},
      created: expect.stringMatching(RFC3339),
      rules: [
        {
          direction: "in",
          protocol: "tcp",
          port: "22",
          source_ips: ["0.0.0.0/0", "::/0"],
          destination_ips: [],
          description: null,
        },
        {
          direction: "in",
          protocol: "icmp",
          port: null,
          source_ips: ["0.0.0.0/0", "::/0"],
          destination_ips: [],
          description: "ping",
        },
      ],
      applied_to: [],
    });
  });

  test("the provider's lookups find cx23, the x86 debian-12 image and the key", async () => {
    const type = await t.api("GET", "/server_types?name=cx23");
    expect(type.body.server_types).toHaveLength(1);
    expect(type.body.server_types[0]).toMatchObject({ name: "cx23", architecture: "x86", deprecation: null });
    const image = await t.api("GET", "/images?architecture=x86&include_deprecated=true&name=debian-12");
    expect(image.body.images.map((i: { id: number }) => i.id)).toEqual([5012]);
    const key = await t.api("GET", `/ssh_keys/${ids.key}`);
    expect(key.body.ssh_key.public_key).toBe(publicKey);
  });

  test("POST /servers answers 201 with finished actions, backup_window null and no IPv4", async () => {
    const res = await t.api("POST", "/servers", {
      name: "web-1-7a6b5c4",
      server_type: "cx23",
      image: 5012,
      location: "fsn1",
      ssh_keys: [ids.key],
      user_data: "#cloud-config\npackages: [docker.io]\n",
      labels: { app: "web" },
      firewalls: [{ firewall: ids.firewall }],
      public_net: { enable_ipv4: false, enable_ipv6: true, ipv6: ids.ip },
    });
    expect(res.status).toBe(201);
    ids.server = res.body.server.id;
    expect(res.body.action).toMatchObject({
      command: "create_server",
      status: "success",
      progress: 100,
      error: null,
      finished: expect.stringMatching(RFC3339),
      resources: [{ id: ids.server, type: "server" }],
    });
    expect(res.body.next_actions).toEqual([
      expect.objectContaining({ command: "start_server", status: "success" }),
    ]);
    expect(res.body.root_password).toBeNull();
    expect(res.body.server).toMatchObject({
      status: "running",
      backup_window: null,
      public_net: { ipv4: null },
    });
  });

  test("the server's host was materialised at <network>::1 with the key's public key", () => {
    expect(t.hosts.hosts.get(ids.server)).toEqual({
      id: ids.server,
      name: "web-1-7a6b5c4",
      architecture: "x86",
      image: "debian-12",
      address: "fd5e:0:0:1::1",
      prefixLength: 64,
      userData: "#cloud-config\npackages: [docker.io]\n",
      authorizedKeys: [publicKey],
    });
  });

  test("GET /servers/{id} returns every field the provider maps into state", async () => {
    const res = await t.api("GET", `/servers/${ids.server}`);
    expect(res.status).toBe(200);
    expect(res.body.server).toMatchObject({
      id: ids.server,
      name: "web-1-7a6b5c4",
      status: "running",
      created: expect.stringMatching(RFC3339),
      public_net: {
        ipv4: null,
        ipv6: { id: ids.ip, ip: "fd5e:0:0:1::/64", blocked: false, dns_ptr: [] },
        floating_ips: [],
        firewalls: [{ id: ids.firewall, status: "applied" }],
      },
      server_type: { name: "cx23", architecture: "x86" },
      location: { name: "fsn1" },
      image: { id: 5012, name: "debian-12" },
      backup_window: null,
      labels: { app: "web" },
      protection: { delete: false, rebuild: false },
      primary_disk_size: 40,
      placement_group: null,
    });
  });

  test("refresh: the primary IP now names the server, the firewall lists it, the rest is unchanged", async () => {
    const key = await t.api("GET", `/ssh_keys/${ids.key}`);
    expect(key.body.ssh_key).toMatchObject({ public_key: publicKey, labels: {} });
    const ip = await t.api("GET", `/primary_ips/${ids.ip}`);
    expect(ip.body.primary_ip).toMatchObject({
      assignee_id: ids.server,
      assignee_type: "server",
      ip: "fd5e:0:0:1::/64",
    });
    const firewall = await t.api("GET", `/firewalls/${ids.firewall}`);
    expect(firewall.body.firewall.applied_to).toEqual([{ type: "server", server: { id: ids.server } }]);
    const server = await t.api("GET", `/servers/${ids.server}`);
    expect(server.body.server.public_net.ipv6.id).toBe(ids.ip);
  });

  test("destroy: DELETE /servers/{id} answers 200 with an action and detaches IP and firewall", async () => {
    const res = await t.api("DELETE", `/servers/${ids.server}`);
    expect(res.status).toBe(200);
    expect(res.body.action).toMatchObject({ command: "delete_server", status: "success" });
    expect(t.hosts.hosts.has(ids.server)).toBe(false);
    const ip = await t.api("GET", `/primary_ips/${ids.ip}`);
    expect(ip.body.primary_ip.assignee_id).toBeNull();
  });

  test("destroy: the firewall reads back unapplied and deletes with 204", async () => {
    const firewall = await t.api("GET", `/firewalls/${ids.firewall}`);
    expect(firewall.body.firewall.applied_to).toEqual([]);
    const res = await t.api("DELETE", `/firewalls/${ids.firewall}`);
    expect(res).toMatchObject({ status: 204, body: undefined, contentType: "application/json" });
  });

  test("destroy: the primary IP delete checks the server (404), then deletes with 204", async () => {
    const server = await t.api("GET", `/servers/${ids.server}`);
    expect(server.status).toBe(404);
    expect(server.body.error.code).toBe("not_found");
    expect((await t.api("DELETE", `/primary_ips/${ids.ip}`)).status).toBe(204);
  });

  test("destroy: the SSH key deletes with 204 and the emulator is empty", async () => {
    expect((await t.api("DELETE", `/ssh_keys/${ids.key}`)).status).toBe(204);
    const state = await fetchJson(`${t.emulator.url}/__emulator/state`);
    expect(state.body).toMatchObject({ sshKeys: [], primaryIps: [], firewalls: [], servers: [] });
  });
});
