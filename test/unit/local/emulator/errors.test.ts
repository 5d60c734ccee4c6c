import { TOKEN, TestEmulator, fetchJson, newPublicKey, serverCreateBody, startTestEmulator } from "./support";

describe("emulator: error answers the provider depends on", () => {
  let t: TestEmulator;

  beforeAll(async () => {
    t = await startTestEmulator();
  });
  afterAll(() => t.close());

  test("an unknown server is 404 not_found, and the name fallback list is 200 and empty", async () => {
    const get = await t.api("GET", "/servers/4999");
    expect(get.status).toBe(404);
    expect(get.contentType).toBe("application/json");
    expect(get.body).toEqual({
      error: { code: "not_found", message: "server with ID '4999' not found", details: {} },
    });
    const fallback = await t.api("GET", "/servers?name=4999");
    expect(fallback.status).toBe(200);
    expect(fallback.body).toEqual({
      servers: [],
      meta: {
        pagination: {
          page: 1,
          per_page: 25,
          previous_page: null,
          next_page: null,
          last_page: 1,
          total_entries: 0,
        },
      },
    });
  });

  test.each([
    ["/ssh_keys/1999", "SSH key"],
    ["/primary_ips/2999", "primary IP"],
    ["/firewalls/3999", "firewall"],
    ["/actions/9999", "action"],
    ["/server_types/9999", "server type"],
    ["/images/9999", "image"],
    ["/locations/9999", "location"],
  ])("GET %s is 404 not_found naming the %s", async (path, kind) => {
    const res = await t.api("GET", path);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe("not_found");
    expect(res.body.error.message).toContain(kind);
  });

  test.each([
    ["missing bearer", undefined],
    ["63 characters", "a".repeat(63)],
    ["65 characters", "a".repeat(65)],
    ["empty", ""],
  ])("a token that is %s is 401 unauthorized", async (_, token) => {
    const res = await fetchJson(`${t.emulator.endpoint}/ssh_keys`, {
      headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(401);
    expect(res.contentType).toBe("application/json");
    expect(res.body.error.code).toBe("unauthorized");
  });

  test("any 64-character token is accepted when none is configured", async () => {
    expect((await t.api("GET", "/ssh_keys", undefined, "Z".repeat(64))).status).toBe(200);
  });

  test("a configured token is the only one accepted", async () => {
    const configured = "c".repeat(64);
    const strict = await startTestEmulator({ token: configured });
    try {
      expect((await strict.api("GET", "/locations", undefined, TOKEN)).status).toBe(401);
      expect((await strict.api("GET", "/locations", undefined, configured)).status).toBe(200);
    } finally {
      await strict.close();
    }
  });

  test.each([
    ["ssh key without name", "POST", "/ssh_keys", { public_key: "ssh-ed25519 AAAA" }, "name"],
    [
      "ssh key with a private key",
      "POST",
      "/ssh_keys",
      { name: "k", public_key: "-----BEGIN OPENSSH" },
      "public_key",
    ],
    [
      "ssh key with bad labels",
      "POST",
      "/ssh_keys",
      { name: "k", public_key: newPublicKey(), labels: { "-x": "" } },
      "labels",
    ],
    ["primary ip without location", "POST", "/primary_ips", { name: "ip", type: "ipv6" }, "location"],
    [
      "primary ip of unknown type",
      "POST",
      "/primary_ips",
      { name: "ip", type: "ipv7", location: "fsn1" },
      "type",
    ],
    ["server with an invalid hostname", "POST", "/servers", serverCreateBody({ name: "web_1" }), "name"],
    [
      "server with a too long hostname label",
      "POST",
      "/servers",
      serverCreateBody({ name: "a".repeat(64) }),
      "name",
    ],
    ["server with an arm image on x86", "POST", "/servers", serverCreateBody({ image: 5013 }), "image"],
    [
      "server in an unknown location",
      "POST",
      "/servers",
      serverCreateBody({ location: "mars1" }),
      "location",
    ],
    [
      "server with an unknown ssh key",
      "POST",
      "/servers",
      serverCreateBody({ ssh_keys: [1999] }),
      "ssh_keys",
    ],
    [
      "server with an unknown firewall",
      "POST",
      "/servers",
      serverCreateBody({ firewalls: [{ firewall: 3999 }] }),
      "firewalls",
    ],
    [
      "server with user_data over 32 KiB",
      "POST",
      "/servers",
      serverCreateBody({ user_data: "#cloud-config\n" + "#".repeat(32 * 1024) }),
      "user_data",
    ],
    [
      "firewall rule without port",
      "POST",
      "/firewalls",
      { name: "fw", rules: [{ direction: "in", protocol: "tcp", source_ips: ["::/0"] }] },
      "rules[0].port",
    ],
    [
      "firewall rule with a bad CIDR",
      "POST",
      "/firewalls",
      { name: "fw", rules: [{ direction: "in", protocol: "icmp", source_ips: ["::/129"] }] },
      "rules[0].source_ips",
    ],
    ["list with a bad page", "GET", "/servers?page=0", undefined, "page"],
    [
      "list with a bad label selector",
      "GET",
      "/servers?label_selector=a%20in%20b",
      undefined,
      "label_selector",
    ],
    ["actions without id", "GET", "/actions", undefined, "id"],
  ])("%s is 422 invalid_input with details.fields naming the field", async (_, method, path, body, field) => {
    const res = await t.api(method, path, body);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("invalid_input");
    expect(res.body.error.message).toContain(`'${field}'`);
    expect(res.body.error.details.fields).toEqual([{ name: field, messages: [expect.any(String)] }]);
  });

  test("a body that is not JSON is 400 json_error", async () => {
    const res = await fetchJson(`${t.emulator.endpoint}/ssh_keys`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: "{name:",
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("json_error");
  });

  test("an unknown path is 404 and a known path with another method is 405", async () => {
    expect((await t.api("GET", "/floating_ips")).body.error.code).toBe("not_found");
    const res = await t.api("PATCH", "/servers");
    expect(res.status).toBe(405);
    expect(res.body.error.code).toBe("method_not_allowed");
  });

  test("duplicate SSH key names and fingerprints are 409 uniqueness_error naming the field", async () => {
    const publicKey = newPublicKey();
    expect((await t.api("POST", "/ssh_keys", { name: "dup", public_key: publicKey })).status).toBe(201);
    const sameName = await t.api("POST", "/ssh_keys", { name: "dup", public_key: newPublicKey() });
    expect(sameName.status).toBe(409);
    expect(sameName.body.error).toMatchObject({
      code: "uniqueness_error",
      details: { fields: [{ name: "name" }] },
    });
    const sameKey = await t.api("POST", "/ssh_keys", { name: "other", public_key: publicKey });
    expect(sameKey.status).toBe(409);
    expect(sameKey.body.error).toEqual({
      code: "uniqueness_error",
      message: "SSH key with the same fingerprint already exists",
      details: { fields: [{ name: "public_key" }] },
    });
  });

  test("a second server with the same name is 409 uniqueness_error", async () => {
    const body = serverCreateBody({ name: "unique-1" });
    expect((await t.api("POST", "/servers", body)).status).toBe(201);
    const again = await t.api("POST", "/servers", body);
    expect(again.status).toBe(409);
    expect(again.body.error.details).toEqual({ fields: [{ name: "name" }] });
  });

  test.each([
    ["no public_net (IPv4 is the API default)", serverCreateBody({ name: "v4-a", public_net: undefined })],
    [
      "enable_ipv4 true",
      serverCreateBody({ name: "v4-b", public_net: { enable_ipv4: true, enable_ipv6: true } }),
    ],
    [
      "no IPv6 at all",
      serverCreateBody({ name: "v4-c", public_net: { enable_ipv4: false, enable_ipv6: false } }),
    ],
  ])("a server with %s is 422 unsupported_error", async (_, body) => {
    const res = await t.api("POST", "/servers", body);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe("unsupported_error");
  });
});
