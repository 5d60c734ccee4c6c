// One app to several simulated hosts at once: each new byte crosses the deployer's uplink once, the
// hosts pass it on to each other over IPv6, every host checks the deployer's checksum, a broken relay
// falls back to a direct stream, and nothing (keys, streams, connections) stays behind. Runs the very
// script the DeliveryFanOut component runs. Needs root and scripts/setup-machine.sh.
import { hostTagOf } from "../../components/shell/prelude";
import { generateEd25519KeyPair, parsePublicKey } from "../../components/sshKeys";
import { DockerEngine, startDockerEngine } from "../../local/dockerd";
import { run } from "../../local/exec";
import { pushImage } from "../../local/images";
import { LocalRegistry, startRegistry } from "../../local/registry";
import { stopAllSimHosts } from "../../local/simhost";
import {
  bytesSentByDeployer,
  deliverTarball,
  LayeredImages,
  repoDigestOf,
  runOnHost,
  startTestHost,
  TestHost,
  TarballOptions,
} from "./support";

let registry: LocalRegistry;
let deployer: DockerEngine;
let layered: LayeredImages;
let hosts: TestHost[];
let version = 0;

/** A new version of the app (its digest reference): the same lower layers, a new top layer. */
async function nextImage(topMiB = 0): Promise<string> {
  version += 1;
  const tag = await layered.build(`it/fan:v${version}`, `fan v${version}`, topMiB);
  const pushed = await pushImage(deployer, { id: tag, tag }, registry, "example-org/fan", `v${version}`);
  return repoDigestOf(deployer, pushed);
}

function deliver(ref: string, targets = hosts, opts: TarballOptions = {}) {
  return deliverTarball(deployer, targets, ref, { leaveFailuresToHosts: true, ...opts });
}

async function imageIdOn(host: TestHost, ref: string): Promise<string> {
  const result = await runOnHost(
    host,
    `docker image inspect --format '{{.Id}}' ${hostTagOf("web", ref)} 2>/dev/null`,
  );
  return result.stdout.trim();
}

async function localId(ref: string): Promise<string> {
  const env = { ...process.env, DOCKER_HOST: deployer.dockerHost };
  return (await run("docker", ["image", "inspect", "--format", "{{.Id}}", ref], { env })).stdout.trim();
}

/** What a delivery could leave on a host: relay keys, streams, control files, relay connections. */
async function leftovers(host: TestHost): Promise<string> {
  const script = `ls /root/.ssh/authorized_keys2 /var/tmp/hcloud-deploy/* 2>/dev/null
ls /run/hcloud-deploy | grep -vx keys.lock
# relay connections: ssh processes of a delivery (ps, so that this script does not match itself)
ps -eo args | grep '^ssh .*hcloud-deploy' || true`;
  return (await runOnHost(host, script)).stdout.trim();
}

async function compressedSize(ref: string): Promise<number> {
  const env = { ...process.env, DOCKER_HOST: deployer.dockerHost };
  return Number(
    (await run("bash", ["-c", `docker save "$0" | zstd -T0 -3 -q -c | wc -c`, ref], { env })).stdout,
  );
}

beforeAll(async () => {
  registry = await startRegistry();
  deployer = await startDockerEngine({ name: "it-fan", insecureRegistries: [registry.host] });
  hosts = await Promise.all(["a", "b", "c"].map((n) => startTestHost(`it-fan${n}`, `fd5e:0:0:f${n}::1`, [])));
  layered = await LayeredImages.create(deployer, 16);
}, 300_000);

afterAll(async () => {
  await stopAllSimHosts();
  await deployer?.stop();
  await registry?.stop();
  await layered?.remove();
}, 120_000);

test("a cold delivery to three hosts crosses the deployer's uplink once and leaves nothing behind", async () => {
  const ref = await nextImage();
  const compressed = await compressedSize(ref);
  const before = await bytesSentByDeployer();
  const result = await deliver(ref);
  const uplink = (await bytesSentByDeployer()) - before;
  process.stderr.write(
    `fan-out, cold, 3 hosts: ${uplink} bytes on the uplink, image ${compressed} compressed\n`,
  );
  expect([result.code, result.stderr]).toEqual([0, ""]);
  expect(result.stdout).toContain(`sending ${ref} (3 layers) to it-fana → it-fanb → it-fanc\n`);
  for (const [i, name] of ["it-fana", "it-fanb", "it-fanc"].entries()) {
    const relayed = i === 0 ? "" : `, relayed by it-fan${"ab"[i - 1]}`;
    expect(result.stdout).toMatch(
      new RegExp(
        `hcloud-deploy: web on ${name}: loaded sha256:[0-9a-f]{64} as hcloud-deploy/web:[0-9a-f]{64} \\([\\d.]+ MiB compressed${relayed}\\) in \\d+s\n`,
      ),
    );
  }
  // Once, not three times: the stream plus handshakes and probes.
  expect(uplink).toBeLessThan(compressed * 1.1 + 256 * 1024);
  for (const host of hosts) {
    expect(await imageIdOn(host, ref)).toBe(await localId(ref));
    expect([host.sim.name, await leftovers(host)]).toEqual([host.sim.name, ""]);
  }
});

test("a one-file change packs the changed layer once for all hosts", async () => {
  const ref = await nextImage();
  const result = await deliver(ref);
  expect([result.code, result.stderr]).toEqual([0, ""]);
  expect(result.stdout.match(/sending layers 3-3 of 3 of /g)).toHaveLength(1);
  for (const host of hosts) expect(await imageIdOn(host, ref)).toBe(await localId(ref));
});

test("a relaying host cannot alter what the next one loads: it checks the checksum, then gets a direct stream", async () => {
  const ref = await nextImage(1);
  // The middle host's tee passes the stream on with one byte flipped and keeps its own copy intact.
  const evil = `#!/usr/bin/perl
open(my $next, ">", $ARGV[1]) or die "$!"; binmode STDIN; binmode STDOUT; binmode $next;
my $n = 0; while (my $got = read(STDIN, my $buf, 65536)) { print STDOUT $buf; my $out = $buf;
  if ($n <= 1000 && $n + $got > 1000) { substr($out, 1000 - $n, 1) ^= "\\xff"; } print $next $out; $n += $got; }`;
  const middle = hosts[1];
  await middle.sim.exec(
    `cat > /root/evil-tee && chmod +x /root/evil-tee && mount --bind /root/evil-tee /usr/bin/tee`,
    { input: evil },
  );
  try {
    const result = await deliver(ref);
    expect([result.code, result.stderr]).toEqual([0, ""]);
    expect(result.stdout).toContain(
      "hcloud-deploy: web on it-fanc: the relay did not bring the whole stream: sending it directly\n",
    );
    expect(result.stdout).toMatch(
      /hcloud-deploy: web on it-fanc: loaded sha256:[0-9a-f]{64} as [^\n]+ \([\d.]+ MiB compressed\) in \d+s\n$/,
    );
  } finally {
    await middle.sim.exec("umount /usr/bin/tee");
  }
  for (const host of hosts) expect(await imageIdOn(host, ref)).toBe(await localId(ref));
  for (const host of hosts) expect(await leftovers(host)).toBe("");
});

test("a host that cannot reach the next one: the rest of the chain gets the image directly", async () => {
  const ref = await nextImage();
  const [, middle, last] = hosts;
  const rule = `OUTPUT -d ${last.address} -p tcp --dport 22 -j REJECT`;
  await middle.sim.exec(`ip6tables -I ${rule}`);
  try {
    const result = await deliver(ref);
    expect([result.code, result.stderr]).toEqual([0, ""]);
    expect(result.stdout).toContain(
      `hcloud-deploy: web on it-fanb: cannot reach the next host root@${last.address}:`,
    );
    expect(result.stdout).toContain(
      "hcloud-deploy: web on it-fanc: the relay did not bring the whole stream: sending it directly\n",
    );
  } finally {
    await middle.sim.exec(`ip6tables -D ${rule}`);
  }
  for (const host of hosts) expect(await imageIdOn(host, ref)).toBe(await localId(ref));
  for (const host of hosts) expect(await leftovers(host)).toBe("");
});

test("parallelism bounds the chains: two hosts, then one", async () => {
  const ref = await nextImage();
  const result = await deliver(ref, hosts, { parallelism: 2 });
  expect([result.code, result.stderr]).toEqual([0, ""]);
  expect(result.stdout).toContain("hcloud-deploy: web on it-fana → it-fanb: ");
  expect(result.stdout).toMatch(
    /sending layers 3-3 of 3 of \S+ \(the hosts hold the others\) to it-fana → it-fanb\n/,
  );
  expect(result.stdout).not.toContain("it-fanb → it-fanc");
  expect(result.stdout).toContain("hcloud-deploy: web on it-fanc: loaded sha256:");
  for (const host of hosts) expect(await imageIdOn(host, ref)).toBe(await localId(ref));
});

test("a host the fan-out cannot serve is named in one line and left to its own delivery", async () => {
  const ref = await nextImage();
  const impostor = {
    ...hosts[2],
    target: { ...hosts[2].target, hostKey: generateEd25519KeyPair("impostor").publicKey },
  };
  const result = await deliver(ref, [hosts[0], hosts[1], impostor]);
  expect([result.code, result.stderr]).toEqual([0, ""]);
  const expected = parsePublicKey(impostor.target.hostKey).fingerprint;
  const presented = parsePublicKey(hosts[2].hostKey).fingerprint;
  expect(result.stdout).toContain(
    `hcloud-deploy: web on it-fanc: host key mismatch at [${hosts[2].address}]: expected ${expected}, presented ${presented} (a replaced server, or someone in between); nothing was sent; its own delivery tries again directly\n`,
  );
  expect(result.stdout).toContain("hcloud-deploy: web on it-fanb: loaded sha256:");
  expect(await imageIdOn(hosts[2], ref)).toBe("");
});
