import { stringify } from "yaml";
import type { SimHost, SimHostSpec } from "../../../../local/simhost";
import { HostSpec } from "../../../../local/emulator/hostBackend";
import { SimHostBackend, simHostSpecOf } from "../../../../local/emulator/simhostBackend";

const HOST_KEY = {
  privateKey:
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
  publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey",
};

function server(document: Record<string, unknown>, id = 4001): HostSpec {
  return {
    id,
    name: "web-1-7a6b5c4",
    address: "fd5e:0:0:1::1",
    prefixLength: 64,
    userData: `#cloud-config\n${stringify(document)}`,
    authorizedKeys: ["ssh-ed25519 AAAA deployer"],
  };
}

const VALID = {
  ssh_pwauth: false,
  packages: ["docker.io"],
  ssh_keys: { ed25519_private: HOST_KEY.privateKey, ed25519_public: HOST_KEY.publicKey },
  ssh_authorized_keys: ["ssh-ed25519 BBBB ops", "ssh-ed25519 AAAA deployer"],
};

/** Records specs and stops instead of creating namespaces. */
function fakeStarter(): {
  start: (spec: SimHostSpec) => Promise<SimHost>;
  started: SimHostSpec[];
  stopped: string[];
} {
  const started: SimHostSpec[] = [];
  const stopped: string[] = [];
  const start = async (spec: SimHostSpec): Promise<SimHost> => {
    started.push(spec);
    return {
      name: spec.name,
      netns: `hcd-${spec.name}`,
      address: spec.address,
      gateway: "fd5e:ffff::1",
      exec: async () => ({ stdout: "", stderr: "", code: 0 }),
      reboot: async () => undefined,
      stop: async () => {
        stopped.push(spec.name);
      },
    };
  };
  return { start, started, stopped };
}

describe("simHostSpecOf", () => {
  test("names the host after the server ID and merges the server's and the document's keys", () => {
    const files = [{ path: "/etc/docker/daemon.json", permissions: "0644", content: "{}" }];
    const document = { ...VALID, packages: ["docker.io", "caddy", "curl"], write_files: files };
    expect(simHostSpecOf(server(document), { insecureRegistries: ["registry.hcd.test:5000"] })).toEqual({
      name: "s4001",
      address: "fd5e:0:0:1::1",
      prefixLength: 64,
      authorizedKeys: ["ssh-ed25519 AAAA deployer", "ssh-ed25519 BBBB ops"],
      hostKey: HOST_KEY,
      insecureRegistries: ["registry.hcd.test:5000"],
      files,
      enabledUnits: ["caddy"],
    });
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
