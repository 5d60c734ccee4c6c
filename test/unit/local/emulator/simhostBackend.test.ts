import { SimHostBackend, simHostSpecOf } from "../../../../local/emulator/simhostBackend";
import { HOST_KEY, VALID, fakeStarter, server } from "./simhostFakes";

describe("simHostSpecOf", () => {
  test("names the host after the server ID and merges the server's and the document's keys", () => {
    const files = [{ path: "/etc/docker/daemon.json", permissions: "0644", content: "{}" }];
    const document = { ...VALID, packages: ["docker.io", "caddy", "curl"], write_files: files };
    expect(simHostSpecOf(server(document), { insecureRegistries: ["registry.hcd.test:5000"] })).toEqual({
      name: "s4001",
      address: "fd5e:0:0:1::1",
      prefixLength: 64,
      architecture: "amd64",
      release: "trixie",
      authorizedKeys: ["ssh-ed25519 AAAA deployer", "ssh-ed25519 BBBB ops"],
      hostKey: HOST_KEY,
      insecureRegistries: ["registry.hcd.test:5000"],
      files,
      enabledUnits: ["caddy"],
    });
  });

  test.each([
    ["cax11", "arm64"],
    ["cax41", "arm64"],
    ["cx23", "amd64"],
    ["cpx22", "amd64"],
  ])("a %s server gets an %s host", (serverType, architecture) => {
    expect(simHostSpecOf(server(VALID, 4001, serverType)).architecture).toBe(architecture);
  });

  test.each([
    ["debian-12", "bookworm"],
    ["debian-13", "trixie"],
  ])("a %s server's host boots %s", (image, release) => {
    expect(simHostSpecOf(server(VALID, 4001, "cx23", image)).release).toBe(release);
  });

  test("a server of another image gets no host, in one line", () => {
    expect(() => simHostSpecOf(server(VALID, 4001, "cx23", "ubuntu-24.04"))).toThrow(
      new Error(
        'server web-1-7a6b5c4 cannot get a simulated host: simulated hosts boot debian-12 or debian-13, not "ubuntu-24.04"',
      ),
    );
  });

  test("throws with the server name and every problem of the cloud-init", () => {
    expect(() => simHostSpecOf(server({ packages: [] }))).toThrow(
      "cloud-init of server web-1-7a6b5c4 cannot bring up a host: no pinned SSH host key: " +
        "ssh_keys.ed25519_private and ssh_keys.ed25519_public are required; " +
        "docker is not installed: packages must contain docker.io; " +
        "SSH password login is not disabled: set ssh_pwauth: false",
    );
  });
});

describe("SimHostBackend", () => {
  test("starts a host per server and stops it when the server is deleted", async () => {
    const fake = fakeStarter();
    const backend = new SimHostBackend(fake.start);
    await backend.create(server(VALID, 4001));
    await backend.create(server(VALID, 4002));
    expect(fake.started.map((spec) => spec.name)).toEqual(["s4001", "s4002"]);
    await backend.delete(4001);
    await backend.delete(4001);
    expect(fake.stopped).toEqual(["s4001"]);
  });

  test("close() stops every host it started, once", async () => {
    const fake = fakeStarter();
    const backend = new SimHostBackend(fake.start);
    await backend.create(server(VALID, 4001));
    await backend.create(server(VALID, 4002));
    await backend.close();
    await backend.close();
    expect(fake.stopped.sort()).toEqual(["s4001", "s4002"]);
  });

  test("a cloud-init without what the host needs starts nothing", async () => {
    const fake = fakeStarter();
    await expect(
      new SimHostBackend(fake.start).create(server({ ...VALID, ssh_pwauth: true })),
    ).rejects.toThrow("SSH password login is not disabled");
    expect(fake.started).toEqual([]);
  });
});
