import * as crypto from "crypto";
import type { HetznerHostArgs } from "../../../components/hetznerHost";
import { hostScriptOf } from "../support/scripts";
import { deployerKey, mockedIpNetwork, MockedRun, outputValue, runUnderMocks } from "../support/program";

const T = {
  host: "hcloud-deploy:host:HetznerHost",
  key: "pulumi-nodejs:dynamic/hcloud-deploy:SshHostKey",
  ip: "hcloud:index/primaryIp:PrimaryIp",
  firewall: "hcloud:index/firewall:Firewall",
  server: "hcloud:index/server:Server",
  command: "command:remote:Command",
  local: "command:local:Command",
};

const REQUIRED: HetznerHostArgs = {
  location: "nbg1",
  serverName: "edge-test",
  sshKeyId: "key-7",
  sshPrivateKey: deployerKey.sshPrivateKey,
  sshAllowedCidrs: ["2001:db8:1::/48"],
};

interface HostRun extends MockedRun {
  address: string;
  connection: Record<string, unknown>;
  hostKey: string;
  connectionIsSecret: boolean;
  ipv6Network: string;
  proxyCaCertificate: string;
}

/** Constructs one HetznerHost named "edge" directly under mocks. */
async function runHost(args: HetznerHostArgs): Promise<HostRun> {
  let host: import("../../../components/hetznerHost").HetznerHost | undefined;
  const run = await runUnderMocks({}, async () => {
    const { HetznerHost } = await import("../../../components/hetznerHost");
    host = new HetznerHost("edge", args);
  });
  const h = host!;
  return {
    ...run,
    address: await outputValue(run.pulumi, h.address),
    connection: (await outputValue(run.pulumi, h.connection)) as unknown as Record<string, unknown>,
    hostKey: await outputValue(run.pulumi, h.hostKey),
    connectionIsSecret: await run.pulumi.isSecret(h.connection),
    ipv6Network: await outputValue(run.pulumi, h.ipv6Network),
    proxyCaCertificate: await outputValue(run.pulumi, h.proxyCaCertificate),
  };
}

describe("HetznerHost with only the required args", () => {
  let run: HostRun;
  beforeAll(async () => {
    run = await runHost(REQUIRED);
  });

  test("exactly these children, named from the host and parented to it", () => {
    expect(run.resources.map((r) => [r.type, r.name, r.parentName])).toEqual([
      [T.host, "edge", undefined],
      [T.key, "edge-host-key", "edge"],
      [T.ip, "edge-ipv6", "edge"],
      [T.firewall, "edge-firewall", "edge"],
      [T.server, "edge-server", "edge"],
      [T.command, "edge-ready", "edge"],
      [T.local, "edge-proxy", "edge"],
    ]);
  });

  test("the proxy setup runs from the deployer over SSH, with the key on stdin", async () => {
    const proxy = run.named("edge-proxy");
    const { environment, stdin, triggers, ...rest } = proxy.inputs;
    expect(rest).toEqual({
      create: 'exec bash -c "$HCLOUD_DEPLOY_SCRIPT" hcloud-deploy create',
      interpreter: ["/bin/sh", "-c"],
      addPreviousOutputInEnv: false,
    });
    expect(stdin).toBe(`${deployerKey.sshPrivateKey.trimEnd()}\n`);
    expect(await run.pulumi.isSecret(proxy.props.stdin)).toBe(true);
    const deployerScript = environment.HCLOUD_DEPLOY_SCRIPT as string;
    expect(deployerScript).toContain(`host_addr=('${run.address}')`);
    const setup = hostScriptOf(deployerScript, "create");
    expect(setup).toContain("hcloud-deploy: %s on %s: %s\\n' 'proxy' 'edge'");
    expect(setup).toContain("installing caddy from the distribution's packages");
    expect(setup).not.toContain("/pki/ca/local");
    // Triggers: what runs on the host (a change reaches existing hosts) and the server.
    expect(triggers).toEqual([crypto.createHash("sha256").update(setup).digest("hex"), "edge-server-id"]);
    expect(run.proxyCaCertificate).toBe("");
  });

  test("the firewall opens no port for the proxy's admin API (a unix socket)", () => {
    const ports = run.named("edge-firewall").inputs.rules.map((r: { port?: string }) => r.port);
    expect(ports).toEqual(["22", undefined]);
  });

  test("defaults: cx23 in nbg1, debian-13, labelled with the host name only", () => {
    expect(run.named("edge-server").inputs).toMatchObject({
      name: "edge-test",
      serverType: "cx23",
      image: "debian-13",
      location: "nbg1",
      sshKeys: ["key-7"],
      publicNets: [{ ipv4Enabled: false, ipv6Enabled: true, ipv6: expect.any(Number) }],
      labels: { host: "edge" },
    });
    expect(run.named("edge-ipv6").inputs).toEqual({
      type: "ipv6",
      location: "nbg1",
      autoDelete: false,
      labels: { host: "edge" },
    });
  });

  test("default policy on-generation: user data and key changes never replace the server", () => {
    const opts = run.named("edge-server").opts;
    expect([opts.deleteBeforeReplace, opts.ignoreChanges, opts.replacementTrigger]).toEqual([
      true,
      ["userData", "sshKeys"],
      1,
    ]);
  });

  test("firewall without app ports: SSH from the allowed CIDRs and ICMPv6 only", () => {
    expect(run.named("edge-firewall").inputs.rules).toEqual([
      { direction: "in", protocol: "tcp", port: "22", sourceIps: ["2001:db8:1::/48"], description: "ssh" },
      { direction: "in", protocol: "icmp", sourceIps: ["::/0"], description: "icmpv6" },
    ]);
  });

  test("the readiness gate waits 600 s by default and is triggered by the server", () => {
    const ready = run.named("edge-ready").inputs;
    expect(ready.create).toContain("deadline=$(( $(date +%s) + 600 ))");
    expect(ready.create).toContain("host='edge'");
    expect(ready.triggers).toEqual(["edge-server-id"]);
  });

  test("the connection pins the generated host key, the same one cloud-init installs; it is secret", () => {
    const userData = run.named("edge-server").inputs.userData as string;
    expect(run.hostKey).toMatch(/^ssh-ed25519 [A-Za-z0-9+/=]+ edge-test$/);
    expect(userData).toContain(`ed25519_public: ${run.hostKey}`);
    expect(run.connection).toEqual({
      host: run.address,
      user: "root",
      privateKey: deployerKey.sshPrivateKey,
      hostKey: run.hostKey,
      dialErrorLimit: 40,
      perDialTimeout: 10,
    });
    expect(run.connectionIsSecret).toBe(true);
    // The command provider fills in the default SSH port.
    expect(run.named("edge-ready").inputs.connection).toEqual({ ...run.connection, port: 22 });
  });
});

describe("HetznerHost with every optional arg", () => {
  let run: HostRun;
  beforeAll(async () => {
    run = await runHost({
      ...REQUIRED,
      serverType: "cx33",
      image: "debian-13",
      generation: 4,
      dns64Servers: ["2001:db8:64::64"],
      openPorts: [443, 80],
      peerSshSources: ["2001:db8:3::/64", "2001:db8:2::/64"],
      replacementPolicy: "on-change",
      readinessTimeoutSeconds: 45,
      labels: { project: "p", stack: "s" },
      tls: { issuer: "internal" },
    });
  });

  test("the internal issuer: cloud-init and the proxy setup configure Caddy's own CA and print its root", () => {
    expect(run.named("edge-server").inputs.userData).toContain('"issuers":[{"module":"internal"}]');
    const setup = hostScriptOf(run.named("edge-proxy").inputs.environment.HCLOUD_DEPLOY_SCRIPT, "create");
    expect(setup).toContain("admin GET /pki/ca/local");
  });

  test("server type, image and labels are passed through", () => {
    expect(run.named("edge-server").inputs).toMatchObject({
      serverType: "cx33",
      image: "debian-13",
      labels: { project: "p", stack: "s", host: "edge" },
    });
  });

  test("on-change lets every user-data change replace the server, old one first", () => {
    const opts = run.named("edge-server").opts;
    expect([opts.deleteBeforeReplace, opts.ignoreChanges, opts.replacementTrigger]).toEqual([
      true,
      undefined,
      undefined,
    ]);
  });

  test("cloud-init carries the generation and the DNS64 resolvers", () => {
    const userData = run.named("edge-server").inputs.userData as string;
    expect(userData).toContain("# hcloud-deploy generation 4\n");
    expect(userData).toContain("nameserver 2001:db8:64::64");
  });

  test("the stack's other hosts may reach SSH, sorted, right after the deployers", () => {
    expect(run.named("edge-firewall").inputs.rules[1]).toEqual({
      direction: "in",
      protocol: "tcp",
      port: "22",
      sourceIps: ["2001:db8:2::/64", "2001:db8:3::/64"],
      description: "ssh from the stack's hosts",
    });
  });

  test("exposes its primary IP's network, for the other hosts' firewalls", () => {
    expect(run.ipv6Network).toBe(mockedIpNetwork("edge-ipv6"));
  });

  test("app ports are opened from anywhere, in port order", () => {
    expect(run.named("edge-firewall").inputs.rules.slice(3)).toEqual([
      { direction: "in", protocol: "tcp", port: "80", sourceIps: ["::/0"], description: "app 80" },
      { direction: "in", protocol: "tcp", port: "443", sourceIps: ["::/0"], description: "app 443" },
    ]);
  });

  test("the readiness timeout is the one given", () => {
    expect(run.named("edge-ready").inputs.create).toContain("deadline=$(( $(date +%s) + 45 ))");
  });
});
