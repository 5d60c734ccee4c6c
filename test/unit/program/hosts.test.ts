import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { deployerKey, mockedIpNetwork, ProgramRun, runProgram, stackConfig } from "../support/program";

describe("hosts under mocks, Pulumi.dev.yaml", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(stackConfig("dev"));
  });

  test("one server, primary IPv6, firewall, host key and readiness gate per host", () => {
    expect(run.ofType("hcloud-deploy:host:HetznerHost").map((r) => r.name)).toEqual(["web-1", "web-2"]);
    expect(run.ofType("hcloud:index/server:Server").map((r) => r.name)).toEqual([
      "web-1-server",
      "web-2-server",
    ]);
    expect(run.ofType("hcloud:index/primaryIp:PrimaryIp").map((r) => r.name)).toEqual([
      "web-1-ipv6",
      "web-2-ipv6",
    ]);
    expect(run.ofType("hcloud:index/firewall:Firewall").map((r) => r.name)).toEqual([
      "web-1-firewall",
      "web-2-firewall",
    ]);
    expect(run.ofType("hcloud:index/sshKey:SshKey").map((r) => r.name)).toEqual(["deployer"]);
    expect(run.ofType("pulumi-nodejs:dynamic/hcloud-deploy:SshHostKey").map((r) => r.name)).toEqual([
      "web-1-host-key",
      "web-2-host-key",
    ]);
    expect(run.resources.filter((r) => r.name.endsWith("-ready")).map((r) => [r.type, r.name])).toEqual([
      ["command:remote:Command", "web-1-ready"],
      ["command:remote:Command", "web-2-ready"],
    ]);
  });

  test("every server is IPv6-only with its primary IP, firewall, key and labels", () => {
    const servers = run.ofType("hcloud:index/server:Server");
    expect(servers).toHaveLength(2);
    for (const server of servers) {
      const host = server.name.replace(/-server$/, "");
      expect(server.inputs).toMatchObject({
        name: `${host}-dev`,
        serverType: host === "web-2" ? "cx33" : "cx23",
        image: "debian-13",
        location: "fsn1",
        sshKeys: ["deployer-id"],
        publicNets: [{ ipv4Enabled: false, ipv6Enabled: true, ipv6: expect.any(Number) }],
        firewallIds: [expect.any(Number)],
        labels: { project: "hcloud-deploy", stack: "dev", host },
      });
      expect(server.parentName).toBe(host);
    }
  });

  test("every Hetzner resource is labelled with project and stack", () => {
    const hetzner = run.resources.filter((r) => r.type.startsWith("hcloud:"));
    // The key; network and subnet; per host its IP, firewall, server and network attachment.
    expect(hetzner).toHaveLength(11);
    // Subnets and attachments carry no labels in the API.
    const unlabelled = [
      "hcloud:index/networkSubnet:NetworkSubnet",
      "hcloud:index/serverNetwork:ServerNetwork",
    ];
    const labelled = hetzner.filter((r) => !unlabelled.includes(r.type));
    expect(labelled).toHaveLength(8);
    for (const r of labelled)
      expect(r.inputs.labels).toMatchObject({ project: "hcloud-deploy", stack: "dev" });
  });

  test("primary IPs are IPv6, kept when the server goes, in the host's location", () => {
    for (const ip of run.ofType("hcloud:index/primaryIp:PrimaryIp")) {
      // Unassigned at creation: the server takes it through publicNets.
      expect(ip.inputs).toEqual({
        type: "ipv6",
        location: "fsn1",
        autoDelete: false,
        labels: { project: "hcloud-deploy", stack: "dev", host: ip.name.replace(/-ipv6$/, "") },
      });
    }
  });

  test("firewall: SSH from the allowed CIDRs and the other host, ICMPv6, the host's app ports, nothing else", () => {
    const rules = (name: string) => run.named(name).inputs.rules;
    const ssh = {
      direction: "in",
      protocol: "tcp",
      port: "22",
      sourceIps: ["2001:db8:1000::/48"],
      description: "ssh",
    };
    const icmp = { direction: "in", protocol: "icmp", sourceIps: ["::/0"], description: "icmpv6" };
    const app = (port: number) => ({
      direction: "in",
      protocol: "tcp",
      port: String(port),
      sourceIps: ["::/0"],
      description: `app ${port}`,
    });
    const peer = (host: string) => ({
      direction: "in",
      protocol: "tcp",
      port: "22",
      sourceIps: [mockedIpNetwork(`${host}-ipv6`)],
      description: "ssh from the stack's hosts",
    });
    expect(rules("web-1-firewall")).toEqual([ssh, peer("web-2"), icmp, app(80)]);
    // api's 8080 is not public: web-1 reaches it over the private network, which firewalls do not filter.
    expect(rules("web-2-firewall")).toEqual([ssh, peer("web-1"), icmp, app(80)]);
  });

  test("user data pins the generated host key, is valid cloud-config and is secret", async () => {
    for (const host of ["web-1", "web-2"]) {
      const server = run.named(`${host}-server`);
      const userData: string = server.inputs.userData;
      expect(userData.startsWith("#cloud-config\n")).toBe(true);
      const doc = parse(userData);
      expect(doc.ssh_keys.ed25519_public).toMatch(/^ssh-ed25519 AAAA/);
      expect(doc.ssh_keys.ed25519_private).toContain("BEGIN OPENSSH PRIVATE KEY");
      expect(doc.ssh_keys.ed25519_private).not.toBe(deployerKey.sshPrivateKey);
      for (const secret of [
        "push-token-value",
        "pull-token-value",
        "db-secret-value",
        deployerKey.sshPrivateKey,
      ]) {
        expect(userData).not.toContain(secret);
      }
      expect(await pulumi.isSecret(server.props.userData)).toBe(true);
    }
  });

  test("every remote command's connection carries the host's pinned key and is secret", async () => {
    const commands = run.ofType("command:remote:Command");
    expect(commands.length).toBeGreaterThanOrEqual(2);
    for (const cmd of commands) {
      const conn = cmd.inputs.connection;
      expect(conn.hostKey).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/=]+ /);
      expect(conn.host).toMatch(/^2001:db8:0:[0-9a-f]+::1$/);
      expect(conn.user).toBe("root");
      expect(conn.privateKey).toContain("BEGIN OPENSSH PRIVATE KEY");
      expect(await pulumi.isSecret(cmd.props.connection)).toBe(true);
    }
    const web1 = run.named("web-1-ready").inputs.connection.hostKey;
    const web2 = run.named("web-2-ready").inputs.connection.hostKey;
    expect(web1).not.toBe(web2);
    const web1UserData = parse(run.named("web-1-server").inputs.userData);
    expect(web1UserData.ssh_keys.ed25519_public).toBe(web1);
  });

  test("readiness gate waits for cloud-init and docker, bounded by config", () => {
    const ready = run.named("web-1-ready").inputs;
    expect(ready.create).toContain("/var/lib/cloud/instance/boot-finished");
    expect(ready.create).toContain("docker info");
    expect(ready.create).toContain("within 600s");
    expect(ready.triggers).toEqual(["web-1-server-id"]);
    expect(ready.connection.dialErrorLimit).toBe(40);
  });

  test("dev replaces hosts on change (on-change policy)", () => {
    const opts = run.named("web-1-server").opts;
    expect(opts.deleteBeforeReplace).toBe(true);
    expect(opts.ignoreChanges).toBeUndefined();
    expect(opts.replacementTrigger).toBeUndefined();
  });

  test("exports each host's IPv6 address", () => {
    expect(run.outputs.hostAddresses).toEqual({
      "web-1": expect.stringMatching(/::1$/),
      "web-2": expect.stringMatching(/::1$/),
    });
  });
});

describe("hosts under mocks, Pulumi.prod.yaml", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(stackConfig("prod"), { stack: "prod" });
  });

  test("three hosts across two locations", () => {
    const servers = run.ofType("hcloud:index/server:Server").map((s) => [s.inputs.name, s.inputs.location]);
    expect(servers).toEqual([
      ["fsn-1-prod", "fsn1"],
      ["fsn-2-prod", "fsn1"],
      ["nbg-1-prod", "nbg1"],
    ]);
  });

  test("production hosts are replaced only by a generation bump", () => {
    for (const server of run.ofType("hcloud:index/server:Server")) {
      expect(server.opts.deleteBeforeReplace).toBe(true);
      expect(server.opts.ignoreChanges).toEqual(["userData", "sshKeys"]);
      expect(server.opts.replacementTrigger).toBe(1);
    }
  });

  test("the host with DNS64 gets its resolvers", () => {
    const doc = parse(run.named("nbg-1-server").inputs.userData);
    expect(doc.write_files).toContainEqual({
      path: "/etc/resolv.conf",
      permissions: "0644",
      content: "nameserver 2a01:4f9:c010:3f02::1\nnameserver 2a00:1098:2c::1\n",
    });
    const fsn = parse(run.named("fsn-1-server").inputs.userData);
    expect(fsn.write_files.map((f: { path: string }) => f.path)).not.toContain("/etc/resolv.conf");
  });
});
