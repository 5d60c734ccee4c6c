// Proves the simulated-host harness with the real OpenSSH client and docker CLI.
// Needs root and scripts/setup-machine.sh.
import { existsSync } from "node:fs";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { DockerEngine, startDockerEngine } from "../../local/dockerd";
import { delay, run, RunResult } from "../../local/exec";
import { TestImage, buildHttpImage, pushImage } from "../../local/images";
import { LocalRegistry, startRegistry } from "../../local/registry";
import { HARNESS_REGISTRY_HOSTNAME } from "../../local/hostNetwork";
import { ensureHostRootfs, HostRelease } from "../../local/hostRootfs";
import { SimHost, generateTestHostKey, startSimHost, stopAllSimHosts } from "../../local/simhost";
import { TEST_HOST_RELEASE } from "../support/hostRelease";

const VERSION = "harness-test-v1.2.3";
const release = TEST_HOST_RELEASE;
/** What each release says it is, and the major version of its docker.io (the machine has Debian 12's). */
const RELEASES: Record<HostRelease, { versionId: string; dockerMajor: string }> = {
  bookworm: { versionId: "12", dockerMajor: "20" },
  trixie: { versionId: "13", dockerMajor: "26" },
};
const SETUP_TIMEOUT_MS = 180_000;
const TEST_TIMEOUT_MS = 60_000;

let workDir: string;
let registry: LocalRegistry;
let deployer: DockerEngine;
let hostA: SimHost;
let hostB: SimHost;
let image: TestImage;
let clientKeyFile: string;
const knownHostsFiles = new Map<SimHost, string>();

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), "hcd-harness-test-"));
  const clientKey = await generateTestHostKey();
  clientKeyFile = path.join(workDir, "id_ed25519");
  await writeFile(clientKeyFile, clientKey.privateKey, { mode: 0o600 });

  registry = await startRegistry();
  const insecureRegistries = [registry.host];
  const [keyA, keyB] = await Promise.all([generateTestHostKey(), generateTestHostKey()]);
  // allSettled, so that whatever did start is known to afterAll even when something else failed.
  const [engine, a, b] = await Promise.allSettled([
    startDockerEngine({ name: "hcd-test-deployer", insecureRegistries }),
    startSimHost({
      name: "hcd-test-a",
      address: "fd5e:ee:0:1::1",
      authorizedKeys: [clientKey.publicKey],
      hostKey: keyA,
      insecureRegistries,
      release,
    }),
    startSimHost({
      name: "hcd-test-b",
      address: "fd5e:ee:0:2::1",
      authorizedKeys: [clientKey.publicKey],
      hostKey: keyB,
      insecureRegistries,
      release,
    }),
  ]);
  if (engine.status === "fulfilled") deployer = engine.value;
  for (const result of [engine, a, b]) if (result.status === "rejected") throw result.reason;
  hostA = (a as PromiseFulfilledResult<SimHost>).value;
  hostB = (b as PromiseFulfilledResult<SimHost>).value;
  knownHostsFiles.set(hostA, await knownHostsFile("a", hostA, keyA.publicKey));
  knownHostsFiles.set(hostB, await knownHostsFile("b", hostB, keyB.publicKey));

  image = await buildHttpImage(deployer, { tag: "hcd-test/web:v1", version: VERSION });
}, SETUP_TIMEOUT_MS);

afterAll(async () => {
  const results = await Promise.allSettled([stopAllSimHosts(), deployer?.stop(), registry?.stop()]);
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  for (const result of results) if (result.status === "rejected") throw result.reason;
}, SETUP_TIMEOUT_MS);

async function knownHostsFile(label: string, host: SimHost, publicKey: string): Promise<string> {
  const file = path.join(workDir, `known_hosts_${label}`);
  await writeFile(file, `${host.address} ${publicKey}\n`);
  return file;
}

function sshArgs(host: SimHost, knownHosts = knownHostsFiles.get(host)!): string[] {
  return [
    ...["-F", "/dev/null", "-i", clientKeyFile, "-o", "IdentitiesOnly=yes"],
    ...["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`],
    ...["-o", "GlobalKnownHostsFile=/dev/null", "-o", "BatchMode=yes"],
    ...["-o", "PreferredAuthentications=publickey", "-o", "ConnectTimeout=10"],
    `root@${host.address}`,
  ];
}

const ssh = (host: SimHost, command: string) => run("ssh", [...sshArgs(host), command]);

const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

const deployerEnv = () => ({ ...process.env, DOCKER_HOST: deployer.dockerHost });

function expectSuccess(result: RunResult): void {
  if (result.code !== 0) throw new Error(`exit code ${result.code}; stderr:\n${result.stderr}`);
}

test(
  "ssh by IPv6 address with a pinned host key reaches that host's own docker engine",
  async () => {
    for (const host of [hostA, hostB]) {
      const { stdout } = await ssh(host, "hostname && docker info --format '{{.Name}} {{.ServerVersion}}'");
      expect(stdout.trim().split("\n")).toEqual([
        host.name,
        expect.stringMatching(new RegExp(`^${host.name} ${RELEASES[release].dockerMajor}\\.`)),
      ]);
    }
  },
  TEST_TIMEOUT_MS,
);

test(
  "a host runs its release's own system: /etc/os-release, docker and caddy are that release's packages",
  async () => {
    const { versions } = await ensureHostRootfs(release);
    // Debian's version without its revision (26.1.5+dfsg1-9+deb13u1 → 26.1.5+dfsg1), as docker reports it.
    const packaged = (pkg: string) => versions[pkg].replace(/-[^-]*$/, "");
    const osRelease = (await ssh(hostA, "cat /etc/os-release")).stdout;
    expect(osRelease).toContain(`\nVERSION_ID="${RELEASES[release].versionId}"\n`);
    expect(osRelease).toContain(`\nVERSION_CODENAME=${release}\n`);
    expect((await ssh(hostA, "cat /etc/debian_version")).stdout.trim()).toBe(versions.debian);
    const docker = await ssh(hostA, "docker version --format '{{.Client.Version}} {{.Server.Version}}'");
    expect(docker.stdout.trim()).toBe(`${packaged("docker.io")} ${packaged("docker.io")}`);
    expect(packaged("docker.io").split(".")[0]).toBe(RELEASES[release].dockerMajor);
    const caddy = await ssh(hostA, "caddy version");
    expect(caddy.stdout.trim().split(" ")[0]).toBe(packaged("caddy"));
    // Every process of the host runs from its root, none from the machine's /usr.
    const roots = await hostA.exec('for p in /proc/[0-9]*; do readlink "$p/root"; done | sort -u');
    expect(roots.stdout).toBe("/\n");
  },
  TEST_TIMEOUT_MS,
);

test(
  "docker save | ssh docker load, then a published port answers on the host's IPv6 address",
  async () => {
    const sshCommand = ["ssh", ...sshArgs(hostA)].map(shellQuote).join(" ");
    await run("bash", ["-o", "pipefail", "-c", `docker save ${image.tag} | ${sshCommand} docker load`], {
      env: deployerEnv(),
    });
    await ssh(hostA, `docker run -d --name web -p 8080:8080 ${image.tag}`);

    const url = `http://[${hostA.address}]:8080/`;
    let last: RunResult | undefined;
    for (let attempt = 0; attempt < 50; attempt++) {
      last = await run("curl", ["-gsS", "--max-time", "2", url], { check: false });
      if (last.code === 0) break;
      await delay(200);
    }
    expect(last).toMatchObject({ code: 0, stdout: VERSION });
  },
  TEST_TIMEOUT_MS,
);

test(
  "a host has no IPv4 except loopback and its docker bridge",
  async () => {
    const addresses = await hostA.exec("ip -4 -o addr show | awk '{print $2}'");
    expectSuccess(addresses);
    expect(addresses.stdout.trim().split("\n").sort()).toEqual(["docker0", "lo"]);

    const routes = await hostA.exec("ip -4 route show table all type unicast");
    expectSuccess(routes);
    expect(routes.stdout).not.toMatch(/default/);
    for (const route of routes.stdout.trim().split("\n")) expect(route).toMatch(/ dev (docker0|lo) /);

    const outside = await hostA.exec("ip -4 route get 192.0.2.1");
    expect(outside.code).not.toBe(0);
    expect(outside.stderr).toMatch(/unreachable/i);
  },
  TEST_TIMEOUT_MS,
);

test(
  "a host logs in to the registry over IPv6 and pulls what the deployer pushed",
  async () => {
    const reference = await pushImage(deployer, image, registry, "hcd-test/web", "v1");

    const resolved = await hostB.exec(`getent ahostsv6 ${HARNESS_REGISTRY_HOSTNAME}`);
    expect(resolved.stdout).toMatch(new RegExp(`^${hostB.gateway} `));

    const login = await hostB.exec(
      `docker login --username ${registry.user} --password-stdin ${registry.host}`,
      { input: registry.password },
    );
    expectSuccess(login);
    const pull = await hostB.exec(
      `docker pull ${reference} && docker image inspect --format '{{.Id}}' ${reference}`,
    );
    expectSuccess(pull);
    expect(pull.stdout.trim().split("\n").pop()).toBe(image.id);
  },
  TEST_TIMEOUT_MS,
);

test(
  "ssh refuses a host whose key differs from the pinned one",
  async () => {
    const wrongKnownHosts = await knownHostsFile("wrong", hostA, (await generateTestHostKey()).publicKey);
    const result = await run("ssh", [...sshArgs(hostA, wrongKnownHosts), "true"], { check: false });
    expect(result.code).toBe(255);
    expect(result.stderr).toMatch(/Host key verification failed/);
  },
  TEST_TIMEOUT_MS,
);

test(
  "each host has its own /root and /tmp",
  async () => {
    const marker = `hcd-marker-${process.pid}-${Date.now()}`;
    // exec() starts in the host's own /root, as an ssh session of root does.
    expect(await hostA.exec("pwd")).toEqual({ stdout: "/root\n", stderr: "", code: 0 });
    expectSuccess(await hostA.exec(`echo a > /root/${marker} && echo a > /tmp/${marker}`));
    expectSuccess(await ssh(hostA, `test -f /root/${marker} && test -f /tmp/${marker}`));

    const onB = await hostB.exec(`ls /root/${marker} /tmp/${marker}`);
    expect(onB.code).not.toBe(0);
    expect(existsSync(`/root/${marker}`)).toBe(false);
    expect(existsSync(`/tmp/${marker}`)).toBe(false);
  },
  TEST_TIMEOUT_MS,
);

test(
  "hosts reach each other's SSH directly; the root namespace forwards nothing",
  async () => {
    const banner = await hostA.exec(
      `timeout 5 bash -c 'exec 3<>/dev/tcp/${hostB.address}/22 && head -c 7 <&3'`,
    );
    expect([banner.code, banner.stdout]).toEqual([0, "SSH-2.0"]);
    // They are neighbours on the harness link, not routed through the root namespace.
    const route = await hostA.exec(`ip -6 route get ${hostB.address}`);
    expect(route.stdout).toMatch(new RegExp(`^${hostB.address} from :: dev eth0 `));
    expect((await run("sysctl", ["-n", "net.ipv6.conf.all.forwarding"])).stdout.trim()).toBe("0");
  },
  TEST_TIMEOUT_MS,
);

test(
  "a host with a small Docker disk has exactly that much room for images",
  async () => {
    const small = await startSimHost({
      name: "hcd-test-c",
      address: "fd5e:ee:0:3::1",
      authorizedKeys: [],
      hostKey: await generateTestHostKey(),
      dockerDataMiB: 64,
      release,
    });
    const root = await small.exec(
      "df -Pm \"$(docker info --format '{{.DockerRootDir}}')\" | awk 'NR == 2 { print $2 }'",
    );
    expect(root.stdout.trim()).toBe("64");
    await small.stop();
  },
  TEST_TIMEOUT_MS,
);

test(
  "a host's disk: cloud-init's files at any path, kept by a reboot (tmpfs /tmp and /root are not); a new host starts clean",
  async () => {
    const spec = {
      name: "hcd-test-d",
      address: "fd5e:ee:0:4::1",
      authorizedKeys: [],
      hostKey: await generateTestHostKey(),
      release,
      files: [
        { path: "/etc/hcd-test/seeded.conf", content: "seeded\n", permissions: "0600" },
        { path: "/usr/local/lib/hcd-test/tool", content: "#!/bin/sh\necho tool\n", permissions: "0755" },
        { path: "/var/lib/caddy/hcd-seeded", content: "", permissions: "0644" },
      ],
    };
    const disk = await startSimHost(spec);
    const seeded = await disk.exec(
      "stat -c '%a %U %n' /etc/hcd-test/seeded.conf /usr/local/lib/hcd-test/tool && cat /etc/hcd-test/seeded.conf && /usr/local/lib/hcd-test/tool",
    );
    expect(seeded.stdout).toBe(
      "600 root /etc/hcd-test/seeded.conf\n755 root /usr/local/lib/hcd-test/tool\nseeded\ntool\n",
    );
    // A directory made on the way to a file keeps the owner and mode the release gives it (caddy's home).
    const { root } = await ensureHostRootfs(release);
    const home = await stat(path.join(root, "var/lib/caddy"));
    expect(home.uid).not.toBe(0);
    expect((await disk.exec("stat -c '%u %a' /var/lib/caddy")).stdout).toBe(
      `${home.uid} ${(home.mode & 0o7777).toString(8)}\n`,
    );
    expectSuccess(
      await disk.exec(
        "echo kept > /etc/hcd-written && echo kept > /var/tmp/hcd-written && echo gone > /tmp/hcd-written && echo gone > /root/hcd-written && docker network create hcd-kept",
      ),
    );

    const mac = (await disk.exec("cat /sys/class/net/eth0/address")).stdout;
    await disk.reboot();
    // Its NIC keeps its MAC, as a VM's does: the machine's neighbour cache stays right.
    expect((await disk.exec("cat /sys/class/net/eth0/address")).stdout).toBe(mac);
    const after = await disk.exec(
      "cat /etc/hcd-written /var/tmp/hcd-written; ls /tmp/hcd-written /root/hcd-written 2>&1; docker network ls --format '{{.Name}}' | grep hcd-",
    );
    expect(after.stdout).toBe(
      "kept\nkept\nls: cannot access '/tmp/hcd-written': No such file or directory\n" +
        "ls: cannot access '/root/hcd-written': No such file or directory\nhcd-kept\n",
    );
    // The release's root file system, shared by every host of it, is untouched.
    expect(
      ["etc/hcd-written", "etc/hcd-test", "var/tmp/hcd-written"].filter((f) =>
        existsSync(path.join(root, f)),
      ),
    ).toEqual([]);

    await disk.stop();
    const fresh = await startSimHost({ ...spec, files: [] });
    const clean = await fresh.exec(
      "ls /etc/hcd-written /etc/hcd-test 2>&1; docker network ls --format '{{.Name}}' | grep -c hcd-",
    );
    expect(clean.stdout).toBe(
      "ls: cannot access '/etc/hcd-written': No such file or directory\n" +
        "ls: cannot access '/etc/hcd-test': No such file or directory\n0\n",
    );
    await fresh.stop();
  },
  2 * TEST_TIMEOUT_MS,
);
