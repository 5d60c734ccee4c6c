// Delivery and services on simulated IPv6-only hosts, with real sshd, dockerd and registry. Runs the
// very scripts `pulumi up` runs (the pure builders in components/shell); services roll out behind the
// host proxy. Needs root and scripts/setup-machine.sh.
import { hostTagOf } from "../../components/shell/prelude";
import { shQuote } from "../../components/shell/prelude";
import { registryPullScript } from "../../components/shell/registryPull";
import { ServiceSpec } from "../../components/shell/service";
import {
  probeScript,
  receiveScript,
  tarballDeliveryScript,
  verifyAndLoadScript,
} from "../../components/shell/tarball";
import { DockerEngine, startDockerEngine } from "../../local/dockerd";
import { delay, run } from "../../local/exec";
import { buildHttpImage, pushImage } from "../../local/images";
import { LocalRegistry, startRegistry } from "../../local/registry";
import { stopAllSimHosts } from "../../local/simhost";
import { rollout, setUpProxy } from "./serving";
import {
  bytesSentTo,
  deployerKey,
  httpGet,
  repoDigestOf,
  runOnDeployer,
  runOnHost,
  startTestHost,
  TestHost,
} from "./support";

let registry: LocalRegistry;
let deployer: DockerEngine;
let tarballHost: TestHost;
let pullHost: TestHost;
const refs: Record<"v1" | "v2" | "broken" | "big", string> = { v1: "", v2: "", broken: "", big: "" };

function service(ref: string, overrides: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    app: "web",
    hostName: "it-tar",
    image: hostTagOf("web", ref),
    port: 8080,
    hostPort: 8080,
    domains: [],
    drainSeconds: 30,
    memory: "64m",
    cpus: 0.5,
    restart: "unless-stopped",
    health: { path: "/", timeoutSeconds: 8, intervalSeconds: 1 },
    env: { GREETING: "hello" },
    // One deployment per image, as the triggers (digest, settings, server) make it in a stack.
    instance: ref.slice(-12),
    keepImages: 3,
    ...overrides,
  };
}

function tarball(host: TestHost, ref: string) {
  const script = tarballDeliveryScript({
    app: "web",
    hostName: host.sim.name,
    hostTag: hostTagOf("web", ref),
    imageRef: ref,
    target: host.target,
    registry: { server: registry.host, username: registry.user },
  });
  return runOnDeployer(deployer, script, `${deployerKey.privateKey}\n`);
}

async function hostHasImage(host: TestHost, ref: string): Promise<boolean> {
  const id = await runOnHost(
    host,
    probeScript({ app: "web", hostName: host.sim.name, hostTag: hostTagOf("web", ref) }),
  );
  return id.stdout.trim() !== "";
}

async function stagedFiles(host: TestHost): Promise<string> {
  return (await runOnHost(host, "ls -A /var/tmp/hcloud-deploy 2>/dev/null || true")).stdout.trim();
}

beforeAll(async () => {
  registry = await startRegistry();
  deployer = await startDockerEngine({ name: "it-deploy", insecureRegistries: [registry.host] });
  [tarballHost, pullHost] = await Promise.all([
    startTestHost("it-tar", "fd5e:0:0:f1::1", [registry.host]),
    startTestHost("it-pull", "fd5e:0:0:f2::1", [registry.host]),
  ]);
  for (const host of [tarballHost, pullHost]) {
    const setup = await setUpProxy(host);
    if (setup.code !== 0) throw new Error(`proxy setup on ${host.sim.name} failed: ${setup.stderr}`);
  }
  const images = {
    v1: await buildHttpImage(deployer, { tag: "it/web:v1", version: "web v1" }),
    v2: await buildHttpImage(deployer, { tag: "it/web:v2", version: "web v2" }),
    // Listens on another port than the service expects, so it never answers its health check.
    broken: await buildHttpImage(deployer, { tag: "it/web:broken", version: "broken", port: 9999 }),
    big: await buildHttpImage(deployer, { tag: "it/web:big", version: "big", paddingMiB: 24 }),
  };
  for (const [name, image] of Object.entries(images)) {
    const pushed = await pushImage(deployer, image, registry, "example-org/web", name);
    refs[name as keyof typeof refs] = await repoDigestOf(deployer, pushed);
  }
}, 300_000);

afterAll(async () => {
  await stopAllSimHosts();
  await deployer?.stop();
  await registry?.stop();
}, 120_000);

describe("tarball delivery and health-gated services", () => {
  test("tarball delivery → load → run → the app answers over IPv6", async () => {
    const delivered = await tarball(tarballHost, refs.v1);
    expect(delivered.stderr).toBe("");
    expect(delivered.code).toBe(0);
    expect(delivered.stdout).toMatch(
      /hcloud-deploy: web on it-tar: sending .*@sha256:[0-9a-f]{64} \(\d+ MiB unpacked\)/,
    );
    expect(delivered.stdout).toMatch(
      /hcloud-deploy: web on it-tar: sent [\d.]+ MiB compressed in [\d.]+s, [\d.]+ [kMG]?B\/s/,
    );
    expect(delivered.stdout).toMatch(/loaded sha256:[0-9a-f]{64} as hcloud-deploy\/web:[0-9a-f]{64}/);
    expect(await hostHasImage(tarballHost, refs.v1)).toBe(true);
    expect(await stagedFiles(tarballHost)).toBe("");

    const started = await rollout(tarballHost, service(refs.v1), "GREETING=hello\nTOKEN=s3cret\n");
    expect([started.code, started.stderr]).toEqual([0, ""]);
    expect(started.stdout).toContain("hcloud-deploy: web on it-tar: revision");
    expect(await httpGet(tarballHost.address, 8080)).toBe("web v1");

    const envFiles = await runOnHost(tarballHost, "stat -c '%a %U' /etc/hcloud-deploy/web/*.env");
    expect(envFiles.stdout.trim()).toBe("600 root");
    const argv = await runOnHost(tarballHost, "ps -eo args");
    expect(argv.stdout).not.toContain("s3cret");
  });

  test("the same service again changes nothing", async () => {
    const again = await rollout(tarballHost, service(refs.v1), "GREETING=hello\nTOKEN=s3cret\n");
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/revision \S+ already running/);
  });

  test("a second delivery of the same digest transfers nothing", async () => {
    const before = await bytesSentTo(tarballHost);
    const again = await tarball(tarballHost, refs.v1);
    const sent = (await bytesSentTo(tarballHost)) - before;
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already on the host; nothing transferred/);
    expect(again.stdout).not.toContain("sending");
    // Two SSH handshakes and a probe, no image data.
    expect(sent).toBeLessThan(64 * 1024);
  });

  test("redeploy of a new version", async () => {
    expect((await tarball(tarballHost, refs.v2)).code).toBe(0);
    const started = await rollout(tarballHost, service(refs.v2), "GREETING=hello\n");
    expect([started.code, started.stderr]).toEqual([0, ""]);
    expect(await httpGet(tarballHost.address, 8080)).toBe("web v2");
    const containers = await runOnHost(tarballHost, "docker ps -a --format '{{.Names}} {{.Image}}'");
    expect(containers.stdout.trim()).toBe(`web ${hostTagOf("web", refs.v2)}`);
    // The old image stays for a fast rollback.
    expect(await hostHasImage(tarballHost, refs.v1)).toBe(true);
  });

  test("an unhealthy new version leaves the old one serving", async () => {
    expect((await tarball(tarballHost, refs.broken)).code).toBe(0);
    const started = await rollout(tarballHost, service(refs.broken), "GREETING=hello\n");
    expect(started.code).not.toBe(0);
    expect(started.stderr).toContain(
      "hcloud-deploy: web on it-tar: health check GET / on port 8080 did not pass within 8s (HTTP 000); the previous version keeps serving",
    );
    expect(await httpGet(tarballHost.address, 8080)).toBe("web v2");
    const containers = await runOnHost(tarballHost, "docker ps -a --format '{{.Names}}'");
    expect(containers.stdout.trim()).toBe("web");
  });

  test("service removal takes away only the container its own deployment started", async () => {
    const stale = await rollout(tarballHost, service(refs.v1), "", "delete");
    expect(stale.stdout).toContain("was started by another deployment; left in place");
    // Same settings, another deployment: the old resource's delete after a server replacement.
    const sameSettings = await rollout(tarballHost, service(refs.v2, { instance: "replaced" }), "", "delete");
    expect(sameSettings.stdout).toContain("was started by another deployment; left in place");
    expect(await httpGet(tarballHost.address, 8080)).toBe("web v2");
    const removed = await rollout(tarballHost, service(refs.v2), "", "delete");
    expect(removed.stdout).toContain("hcloud-deploy: web on it-tar: removed");
    expect((await runOnHost(tarballHost, "docker ps -aq")).stdout.trim()).toBe("");
  });
});

describe("a partial or corrupted transfer is never loaded", () => {
  const image = () => ({ app: "web", hostName: "it-tar", hostTag: hostTagOf("web", refs.big) });

  async function compressedImage(): Promise<Buffer> {
    const saved = await run("bash", ["-c", `docker save "$0" | zstd -T0 -3 -q -c | base64 -w0`, refs.big], {
      env: { ...process.env, DOCKER_HOST: deployer.dockerHost },
    });
    return Buffer.from(saved.stdout, "base64");
  }

  async function sendAndVerify(data: Buffer, expectedSum: string, imageId: string) {
    const file = "/var/tmp/hcloud-deploy/it-manual.partial";
    const upload = await runOnHost(tarballHost, `sh -c ${shQuote(receiveScript())} sh ${file}`, data);
    expect(upload.code).toBe(0);
    return runOnHost(
      tarballHost,
      `sh -c ${shQuote(verifyAndLoadScript(image()))} sh ${file} ${expectedSum} ${imageId}`,
    );
  }

  test("a corrupted or truncated stream fails its checksum; nothing is loaded, nothing stays", async () => {
    const data = await compressedImage();
    const sum = (await run("sha256sum", [], { input: data })).stdout.split(" ")[0];
    const id = (
      await run("docker", ["image", "inspect", "--format", "{{.Id}}", refs.big], {
        env: { ...process.env, DOCKER_HOST: deployer.dockerHost },
      })
    ).stdout.trim();
    const corrupted = Buffer.from(data);
    corrupted[Math.floor(corrupted.length / 2)] ^= 0xff;
    const truncated = data.subarray(0, Math.floor(data.length / 3));

    for (const broken of [corrupted, truncated]) {
      const result = await sendAndVerify(broken, sum, id);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`checksum mismatch (expected ${sum}, got `);
      expect(result.stderr).toContain("nothing was loaded");
      expect(await hostHasImage(tarballHost, refs.big)).toBe(false);
      expect(
        (await runOnHost(tarballHost, `docker image inspect ${id} >/dev/null 2>&1 && echo present`)).stdout,
      ).toBe("");
      expect(await stagedFiles(tarballHost)).toBe("");
    }
  });

  test("a transfer cut off mid-stream fails, loads nothing and cleans up", async () => {
    // Slow the link so the stream is still running when the connection dies.
    await run("tc", [
      "qdisc",
      "add",
      "dev",
      `hcd-${tarballHost.sim.name}`,
      "root",
      "tbf",
      "rate",
      "16mbit",
      "burst",
      "64kb",
      "latency",
      "200ms",
    ]);
    try {
      const delivery = tarball(tarballHost, refs.big);
      await delay(2500);
      // The ssh process carrying the stream is the one whose remote command is the receive stage.
      const killed = await run("pkill", ["-f", "^ssh .*find /var/tmp/hcloud-deploy -name"], { check: false });
      expect(killed.code).toBe(0);
      const result = await delivery;
      expect(result.code).not.toBe(0);
      expect(result.stdout).toContain("sending");
      expect(result.stdout).not.toContain("loaded sha256");
    } finally {
      await run("tc", ["qdisc", "del", "dev", `hcd-${tarballHost.sim.name}`, "root"], { check: false });
    }
    expect(await hostHasImage(tarballHost, refs.big)).toBe(false);
    expect(await stagedFiles(tarballHost)).toBe("");
  });
});

describe("registry pull delivery", () => {
  const pull = (ref: string) =>
    registryPullScript({
      app: "web",
      hostName: "it-pull",
      hostTag: hostTagOf("web", ref),
      imageRef: ref,
      registry: { server: registry.host, username: registry.user },
    });

  test("pulls by digest with the token on stdin and leaves no credential on the host", async () => {
    const pulled = await runOnHost(pullHost, pull(refs.v1), registry.password);
    expect([pulled.code, pulled.stderr]).toEqual([0, ""]);
    expect(pulled.stdout).toMatch(/hcloud-deploy: web on it-pull: pulled .*@sha256:[0-9a-f]{64} in \d+s/);
    expect(await hostHasImage(pullHost, refs.v1)).toBe(true);

    const leftovers = await runOnHost(
      pullHost,
      `grep -rlsF -- "$(cat)" /root /run /tmp /etc /var/tmp 2>/dev/null; ls /run | grep hcloud-deploy-pull; ls /root/.docker 2>/dev/null; true`,
      registry.password,
    );
    expect(leftovers.stdout.trim()).toBe("");

    const started = await rollout(pullHost, service(refs.v1, { hostName: "it-pull" }), "");
    expect(started.code).toBe(0);
    expect(await httpGet(pullHost.address, 8080)).toBe("web v1");
  });

  test("a second pull of the same digest does nothing", async () => {
    const again = await runOnHost(pullHost, pull(refs.v1), registry.password);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("already on the host; nothing pulled");
  });

  test("a wrong token fails clearly and leaves nothing behind", async () => {
    const failed = await runOnHost(pullHost, pull(refs.v2), "not-the-token");
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain(`hcloud-deploy: web on it-pull: login to ${registry.host} failed`);
    expect(await hostHasImage(pullHost, refs.v2)).toBe(false);
    expect((await runOnHost(pullHost, "ls /run | grep hcloud-deploy-pull; true")).stdout.trim()).toBe("");
  });
});
