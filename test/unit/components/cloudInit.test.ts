import { parse } from "yaml";
import { HOST_PACKAGES, renderCloudInit } from "../../../components/cloudInit";
import { hostFiles } from "../../../components/shell/proxy";
import { generateEd25519KeyPair } from "../../../components/sshKeys";

const hostKey = generateEd25519KeyPair("web-1-dev");
const render = (over: Partial<Parameters<typeof renderCloudInit>[0]> = {}) =>
  renderCloudInit({ hostKey, generation: 1, dns64Servers: [], tls: { issuer: "acme" }, ...over });

describe("renderCloudInit", () => {
  test("is a cloud-config document that YAML parses", () => {
    const text = render();
    expect(text.split("\n").slice(0, 2)).toEqual(["#cloud-config", "# hcloud-deploy generation 1"]);
    expect(typeof parse(text)).toBe("object");
  });

  test("pins the host key and drops the image's own", () => {
    const doc = parse(render());
    expect(doc.ssh_keys).toEqual({ ed25519_private: hostKey.privateKey, ed25519_public: hostKey.publicKey });
    expect(doc.ssh_deletekeys).toBe(true);
    expect(doc.ssh_genkeytypes).toEqual([]);
  });

  test("turns SSH passwords off", () => {
    const doc = parse(render());
    expect(doc.ssh_pwauth).toBe(false);
    const sshd = doc.write_files.find(
      (f: { path: string }) => f.path === "/etc/ssh/sshd_config.d/50-hcloud-deploy.conf",
    );
    expect(sshd.content.split("\n")).toEqual([
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "",
    ]);
  });

  test("installs Docker and Caddy from the distribution and enables unattended upgrades", () => {
    const doc = parse(render());
    expect(doc.packages).toEqual(HOST_PACKAGES);
    expect(doc.packages).toEqual([
      "docker.io",
      "caddy",
      "unattended-upgrades",
      "curl",
      "zstd",
      "ca-certificates",
    ]);
    expect(doc.package_update).toBe(true);
    const auto = doc.write_files.find(
      (f: { path: string }) => f.path === "/etc/apt/apt.conf.d/20auto-upgrades",
    );
    expect(auto.content).toBe(
      'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n',
    );
    expect(doc.runcmd).toEqual([
      ["systemctl", "restart", "ssh"],
      ["systemctl", "enable", "--now", "docker"],
    ]);
  });

  test("carries only the host's own key material: no other private key, no tokens", () => {
    const text = render();
    expect(text.match(/BEGIN OPENSSH PRIVATE KEY/g)).toHaveLength(1);
    expect(text).not.toMatch(/token|password:|ghp_|registry/i);
  });

  test("writes the host files the proxy setup converges on, before the packages start anything", () => {
    const files = parse(render({ tls: { issuer: "internal" } })).write_files;
    expect(files.slice(2)).toEqual(hostFiles({ issuer: "internal" }));
    expect(files.map((f: { path: string }) => f.path).slice(2)).toEqual([
      "/etc/docker/daemon.json",
      "/etc/systemd/system/caddy.service.d/hcloud-deploy.conf",
      "/etc/caddy/hcloud-deploy.json",
    ]);
  });

  test("writes DNS64 resolvers only when configured", () => {
    const withDns64 = parse(render({ dns64Servers: ["2a00:1098:2c::1", "2a01:4f9:c010:3f02::1"] }));
    expect(withDns64.write_files).toContainEqual({
      path: "/etc/resolv.conf",
      permissions: "0644",
      content: "nameserver 2a00:1098:2c::1\nnameserver 2a01:4f9:c010:3f02::1\n",
    });
    const paths = parse(render()).write_files.map((f: { path: string }) => f.path);
    expect(paths).toEqual([
      "/etc/ssh/sshd_config.d/50-hcloud-deploy.conf",
      "/etc/apt/apt.conf.d/20auto-upgrades",
      "/etc/docker/daemon.json",
      "/etc/systemd/system/caddy.service.d/hcloud-deploy.conf",
      "/etc/caddy/hcloud-deploy.json",
    ]);
  });

  test("is deterministic, and a generation bump changes the document", () => {
    expect(render()).toBe(render());
    expect(render({ generation: 2 })).not.toBe(render());
    expect(render({ generation: 2 })).toContain("# hcloud-deploy generation 2\n");
  });
});
