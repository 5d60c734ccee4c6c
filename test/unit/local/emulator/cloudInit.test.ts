import { stringify } from "yaml";
import { renderCloudInit } from "../../../../components/cloudInit";
import { parseCloudInit } from "../../../../local/emulator/cloudInit";

const PRIVATE_KEY =
  "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
const PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey host";
const VALID = {
  ssh_pwauth: false,
  ssh_keys: { ed25519_private: PRIVATE_KEY, ed25519_public: PUBLIC_KEY },
  packages: ["docker.io", "curl"],
};

function cloudConfig(document: Record<string, unknown>): string {
  return `#cloud-config\n${stringify(document)}`;
}

describe("parseCloudInit", () => {
  test("returns the pinned host key, the document's authorized keys, files and packages", () => {
    const result = parseCloudInit(
      cloudConfig({
        ...VALID,
        ssh_authorized_keys: ["ssh-ed25519 AAAA extra\n"],
        write_files: [
          { path: "/etc/caddy/a.json", permissions: "0600", content: "{}\n" },
          { path: "/etc/b", content: "b" },
        ],
      }),
    );
    expect(result).toEqual({
      ok: true,
      config: {
        hostKey: { privateKey: PRIVATE_KEY, publicKey: PUBLIC_KEY },
        authorizedKeys: ["ssh-ed25519 AAAA extra"],
        files: [
          { path: "/etc/caddy/a.json", permissions: "0600", content: "{}\n" },
          { path: "/etc/b", permissions: "0644", content: "b" },
        ],
        packages: ["docker.io", "curl"],
      },
    });
  });

  test("accepts the document the program renders", () => {
    const userData = renderCloudInit({
      hostKey: { privateKey: PRIVATE_KEY, publicKey: PUBLIC_KEY },
      generation: 1,
      dns64Servers: [],
      tls: { issuer: "internal" },
    });
    expect(parseCloudInit(userData)).toMatchObject({
      ok: true,
      config: {
        hostKey: { publicKey: PUBLIC_KEY },
        packages: expect.arrayContaining(["docker.io", "caddy"]),
        files: expect.arrayContaining([
          expect.objectContaining({ path: "/etc/systemd/system/caddy.service.d/hcloud-deploy.conf" }),
        ]),
      },
    });
  });

  test.each([
    ["a [name, version] package entry", { packages: [["docker.io", "24.0"]] }],
    ['ssh_pwauth "no"', { ssh_pwauth: "no" }],
    ['ssh_pwauth "False"', { ssh_pwauth: "False" }],
  ])("accepts %s", (_, change) => {
    expect(parseCloudInit(cloudConfig({ ...VALID, ...change })).ok).toBe(true);
  });

  test.each([
    ["no #cloud-config header", stringify(VALID), 'user_data does not start with "#cloud-config"'],
    ["a shell script", "#!/bin/sh\necho hi\n", 'user_data does not start with "#cloud-config"'],
    ["broken YAML", "#cloud-config\nssh_keys: [\n", "user_data is not valid YAML"],
    ["a YAML list", "#cloud-config\n- a\n", "user_data is not a YAML mapping"],
    ["no host key", cloudConfig({ ...VALID, ssh_keys: undefined }), "no pinned SSH host key"],
    [
      "only a public host key",
      cloudConfig({ ...VALID, ssh_keys: { ed25519_public: PUBLIC_KEY } }),
      "no pinned SSH host key",
    ],
    [
      "a public key where the private one belongs",
      cloudConfig({ ...VALID, ssh_keys: { ed25519_private: PUBLIC_KEY, ed25519_public: PUBLIC_KEY } }),
      "ssh_keys.ed25519_private is not an OpenSSH private key",
    ],
    [
      "an RSA public host key",
      cloudConfig({ ...VALID, ssh_keys: { ed25519_private: PRIVATE_KEY, ed25519_public: "ssh-rsa AAAA" } }),
      "ssh_keys.ed25519_public is not an ssh-ed25519 public key",
    ],
    ["no docker.io package", cloudConfig({ ...VALID, packages: ["podman"] }), "docker is not installed"],
    ["no packages at all", cloudConfig({ ...VALID, packages: undefined }), "docker is not installed"],
    [
      "ssh_pwauth missing",
      cloudConfig({ ...VALID, ssh_pwauth: undefined }),
      "SSH password login is not disabled",
    ],
    ["ssh_pwauth true", cloudConfig({ ...VALID, ssh_pwauth: true }), "SSH password login is not disabled"],
    [
      "ssh_authorized_keys as a string",
      cloudConfig({ ...VALID, ssh_authorized_keys: "ssh-ed25519 AAAA" }),
      "ssh_authorized_keys must be a list",
    ],
  ])("rejects %s", (_, userData, problem) => {
    const result = parseCloudInit(userData);
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.problems).toEqual([expect.stringContaining(problem)]);
  });

  test("lists every problem at once", () => {
    const result = parseCloudInit("#cloud-config\npackages: []\n");
    expect(result.ok ? [] : result.problems).toHaveLength(3);
  });
});
