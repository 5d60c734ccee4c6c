import { RFC3339, TestEmulator, newPublicKey, serverCreateBody, startTestEmulator } from "./support";

describe("emulator: actions and list pagination", () => {
  let t: TestEmulator;

  beforeAll(async () => {
    t = await startTestEmulator();
  });
  afterAll(() => t.close());

  test("GET /actions?id=…&id=… (hcloud-go's poll) returns every requested action, sorted by status then id", async () => {
    const created = await t.api("POST", "/servers", serverCreateBody());
    const ids = [created.body.action.id, created.body.next_actions[0].id];
    const res = await t.api("GET", `/actions?id=${ids[1]}&id=${ids[0]}&page=1&sort=status&sort=id`);
    expect(res.status).toBe(200);
    expect(res.body.actions.map((a: { id: number; status: string }) => [a.id, a.status])).toEqual([
      [ids[0], "success"],
      [ids[1], "success"],
    ]);
    expect(res.body.meta.pagination.total_entries).toBe(2);
  });

  test("unknown action IDs are left out, so hcloud-go reports them as not found", async () => {
    const res = await t.api("GET", "/actions?id=9001&id=99999");
    expect(res.body.actions.map((a: { id: number }) => a.id)).toEqual([9001]);
  });

  test("GET /actions/{id} returns one action with integer progress and RFC 3339 times", async () => {
    const res = await t.api("GET", "/actions/9001");
    expect(res.body.action).toEqual({
      id: 9001,
      command: "create_server",
      status: "success",
      progress: 100,
      started: expect.stringMatching(RFC3339),
      finished: res.body.action.started,
      resources: [{ id: 4001, type: "server" }],
      error: null,
    });
  });

  test.each([
    ["/server_types?name=cx23", "server_types", ["cx23"]],
    ["/server_types?name=cx22", "server_types", []],
    ["/images?architecture=arm&name=debian-12", "images", ["debian-12"]],
    ["/images?architecture=x86", "images", ["debian-12", "debian-13", "ubuntu-24.04"]],
    ["/locations?name=hel1", "locations", ["hel1"]],
    ["/locations?page=1&per_page=50", "locations", ["fsn1", "nbg1", "hel1", "ash", "hil", "sin"]],
  ])("catalog lookup %s", async (path, key, names) => {
    const res = await t.api("GET", path);
    expect(res.body[key].map((item: { name: string }) => item.name)).toEqual(names);
  });

  describe("with five SSH keys", () => {
    beforeAll(async () => {
      for (let i = 1; i <= 5; i++) {
        await t.api("POST", "/ssh_keys", { name: `key-${i}`, public_key: newPublicKey() });
      }
    });

    test.each([
      ["page=1&per_page=2", [1001, 1002], { page: 1, previous_page: null, next_page: 2, last_page: 3 }],
      ["page=2&per_page=2", [1003, 1004], { page: 2, previous_page: 1, next_page: 3, last_page: 3 }],
      ["page=3&per_page=2", [1005], { page: 3, previous_page: 2, next_page: null, last_page: 3 }],
      ["per_page=500", [1001, 1002, 1003, 1004, 1005], { per_page: 50, next_page: null, last_page: 1 }],
      ["sort=id:desc&per_page=2", [1005, 1004], { next_page: 2 }],
    ])("GET /ssh_keys?%s pages through five keys", async (query, expectedIds, pagination) => {
      const res = await t.api("GET", `/ssh_keys?${query}`);
      expect(res.body.ssh_keys.map((k: { id: number }) => k.id)).toEqual(expectedIds);
      expect(res.body.meta.pagination).toMatchObject({ total_entries: 5, ...pagination });
    });

    test("GET /ssh_keys?fingerprint= finds the key by its MD5 fingerprint", async () => {
      const key = (await t.api("GET", "/ssh_keys/1003")).body.ssh_key;
      const res = await t.api("GET", `/ssh_keys?fingerprint=${encodeURIComponent(key.fingerprint)}`);
      expect(res.body.ssh_keys.map((k: { id: number }) => k.id)).toEqual([1003]);
    });
  });
});
