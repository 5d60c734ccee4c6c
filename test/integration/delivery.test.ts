// Delivery and services on simulated IPv6-only hosts, with real sshd, dockerd and registry. Runs the
// very scripts `pulumi up` runs (the pure builders in components/shell); services roll out behind the
// host proxy. Needs root and scripts/setup-machine.sh.
import { hostTagOf, shQuote } from "../../components/shell/prelude";
import { registryPullDeliveryScript } from "../../components/shell/registryPull";
import { ServiceSpec } from "../../components/shell/service";
import { probeScript } from "../../components/shell/stages";
import { DockerEngine, startDockerEngine } from "../../local/dockerd";
import { run } from "../../local/exec";
import { buildHttpImage, pushImage } from "../../local/images";
import { LocalRegistry, startRegistry } from "../../local/registry";
import { stopAllSimHosts } from "../../local/simhost";
import { rollout, setUpProxy } from "./serving";
import {
  bytesSentTo,
  deliverTarball,
  deployerKey,
  httpGet,
  LayeredImages,
  repoDigestOf,
  runOnDeployer,
  runOnHost,
  stagedFiles,
  startTestHost,
  TestHost,
} from "./support";

let registry: LocalRegistry;
let deployer: DockerEngine;
let layered: LayeredImages;
let tarballHost: TestHost;
let pullHost: TestHost;
const refs: Record<"v1" | "v2" | "broken", string> = { v1: "", v2: "", broken: "" };
const deployerEnv = () => ({ ...process.env, DOCKER_HOST: deployer.dockerHost });

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

const tarball = (host: TestHost, ref: string) => deliverTarball(deployer, [host], ref);

async function hostHasImage(host: TestHost, ref: string): Promise<boolean> {
  const result = await runOnHost(
    host,
    `docker image inspect ${hostTagOf("web", ref)} >/dev/null 2>&1 && echo yes`,
  );
  return result.stdout.trim() === "yes";
}

/** Compressed size of the top layer of a local image, as the pack stage would send it. */
async function compressedTopLayer(ref: string): Promise<number> {
  const script = `set -euo pipefail; d=$(mktemp -d); docker save "$0" | tar -x -C "$d"
top=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]))[0].Layers.pop())' "$d/manifest.json")
zstd -T0 -3 -q -c "$d/$top" | wc -c; rm -rf "$d"`;
  return Number((await run("bash", ["-c", script, ref], { env: deployerEnv() })).stdout.trim());
}

beforeAll(async () => {
  registry = await startRegistry();
  deployer = await startDockerEngine({ name: "it-deploy", insecureRegistries: [registry.host] });
  [tarballHost, pullHost] = await Promise.all([
    startTestHost("it-tar", "fd5e:0:0:f1::1", [registry.host]),
    startTestHost("it-pull", "fd5e:0:0:f2::1", [registry.host]),
  ]);
  layered = await LayeredImages.create(deployer, 8);
  for (const host of [tarballHost, pullHost]) {
    const setup = await setUpProxy(host);
    if (setup.code !== 0) throw new Error(`proxy setup on ${host.sim.name} failed: ${setup.stderr}`);
  }
  const images = {
    v1: await layered.build("it/web:v1", "web v1"),
    v2: await layered.build("it/web:v2", "web v2"),
    // Listens on another port than the service expects, so it never answers its health check.
    broken: (await buildHttpImage(deployer, { tag: "it/web:broken", version: "broken", port: 9999 })).tag,
  };
  for (const [name, tag] of Object.entries(images)) {
    const pushed = await pushImage(deployer, { id: tag, tag }, registry, "example-org/web", name);
    refs[name as keyof typeof refs] = await repoDigestOf(deployer, pushed);
  }
}, 300_000);

afterAll(async () => {
  await stopAllSimHosts();
  await deployer?.stop();
  await registry?.stop();
  await layered?.remove();
}, 120_000);

describe("tarball delivery and health-gated services", () => {
  test("tarball delivery → load → run → the app answers over IPv6", async () => {
    const delivered = await tarball(tarballHost, refs.v1);
    expect([delivered.code, delivered.stderr]).toEqual([0, ""]);
    expect(delivered.stdout).toContain(
      `hcloud-deploy: web on it-tar: sending ${refs.v1} (3 layers) to it-tar\n`,
    );
    expect(delivered.stdout).toMatch(
      /hcloud-deploy: web on it-tar: loaded sha256:[0-9a-f]{64} as hcloud-deploy\/web:[0-9a-f]{64} \([\d.]+ MiB compressed\) in \d+s\n$/,
    );
    expect(await hostHasImage(tarballHost, refs.v1)).toBe(true);
    expect(await stagedFiles(tarballHost)).toBe("");

    const started = await rollout(tarballHost, service(refs.v1), "GREETING=hello\nTOKEN=s3cret\n");
    expect([started.code, started.stderr]).toEqual([0, ""]);
    expect(await httpGet(tarballHost.address, 8080)).toBe("web v1");
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
    expect([again.code, again.stderr]).toEqual([0, ""]);
    expect(again.stdout).toMatch(
      /^hcloud-deploy: web on it-tar: sha256:[0-9a-f]{64} already on the host; nothing transferred\n$/,
    );
    // One SSH handshake and a probe, no image data.
    expect(sent).toBeLessThan(64 * 1024);
  });

  test("a one-file change sends at most the compressed changed layer plus 64 KiB", async () => {
    const layer = await compressedTopLayer(refs.v2);
    const before = await bytesSentTo(tarballHost);
    const delivered = await tarball(tarballHost, refs.v2);
    const sent = (await bytesSentTo(tarballHost)) - before;
    process.stderr.write(`one-file change: ${sent} bytes sent, compressed changed layer ${layer} bytes\n`);
    expect([delivered.code, delivered.stderr]).toEqual([0, ""]);
    expect(delivered.stdout).toContain(
      `sending layers 3-3 of 3 of ${refs.v2} (the hosts hold the others) to it-tar`,
    );
    expect(sent).toBeLessThanOrEqual(layer + 64 * 1024);

    const started = await rollout(tarballHost, service(refs.v2), "GREETING=hello\n");
    expect([started.code, started.stderr]).toEqual([0, ""]);
    expect(await httpGet(tarballHost.address, 8080)).toBe("web v2");
    // The old image stays for a fast rollback.
    expect(await hostHasImage(tarballHost, refs.v1)).toBe(true);
  });

  test("a rollback to an image the host holds works on a deployer that does not have it", async () => {
    const id = await run("docker", ["image", "inspect", "--format", "{{.Id}}", refs.v1], {
      env: deployerEnv(),
    });
    await run("docker", ["rmi", "-f", id.stdout.trim()], { env: deployerEnv() });
    expect(
      (await run("docker", ["image", "inspect", refs.v1], { env: deployerEnv(), check: false })).code,
    ).toBe(1);
    // No token: the deployer could not pull even if it tried.
    const rolledBack = await tarball(tarballHost, refs.v1);
    expect([rolledBack.code, rolledBack.stderr]).toEqual([0, ""]);
    expect(rolledBack.stdout).toMatch(/already on the host; nothing transferred\n$/);
    expect(
      (await run("docker", ["image", "inspect", refs.v1], { env: deployerEnv(), check: false })).code,
    ).toBe(1);
  });

  test("an unhealthy new version leaves the old one serving", async () => {
    expect((await tarball(tarballHost, refs.broken)).code).toBe(0);
    const started = await rollout(tarballHost, service(refs.broken), "GREETING=hello\n");
    expect(started.code).not.toBe(0);
    expect(started.stderr).toContain(
      "hcloud-deploy: web on it-tar: health check GET / on port 8080 did not pass within 8s (HTTP 000); the previous version keeps serving",
    );
    expect(await httpGet(tarballHost.address, 8080)).toBe("web v2");
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

describe("registry pull delivery, run from the deployer", () => {
  const pull = (ref: string, token: string) =>
    runOnDeployer(
      deployer,
      registryPullDeliveryScript({
        app: "web",
        hostName: "it-pull",
        hostTag: hostTagOf("web", ref),
        imageRef: ref,
        registry: { server: registry.host, username: registry.user },
        target: pullHost.target,
      }),
      `${deployerKey.privateKey}\n${token}\n`,
    );

  test("pulls by digest with the token on stdin and leaves no credential on the host", async () => {
    const pulled = await pull(refs.v1, registry.password);
    expect([pulled.code, pulled.stderr]).toEqual([0, ""]);
    expect(pulled.stdout).toMatch(/^hcloud-deploy: web on it-pull: pulled .*@sha256:[0-9a-f]{64} in \d+s\n$/);
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
    const again = await pull(refs.v1, registry.password);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("already on the host; nothing pulled");
  });

  test("a wrong token fails with one line and leaves nothing behind", async () => {
    const failed = await pull(refs.v2, "not-the-token");
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(
      new RegExp(`^hcloud-deploy: web on it-pull: login to ${registry.host} failed [^\\n]*\\n$`),
    );
    expect(await hostHasImage(pullHost, refs.v2)).toBe(false);
    expect((await runOnHost(pullHost, "ls /run | grep hcloud-deploy-pull; true")).stdout.trim()).toBe("");
  });

  test("a tarball delivery's probe finds the pulled image, or lists the layers the host holds", async () => {
    const probe = (ref: string) =>
      runOnHost(
        pullHost,
        `sh -c ${shQuote(probeScript({ app: "web", hostTag: hostTagOf("web", ref) }))} sh t1 ''`,
      );
    expect((await probe(refs.v1)).stdout).toMatch(/^tag sha256:[0-9a-f]{64}\n$/);
    expect((await probe(refs.v2)).stdout).toMatch(
      /^store graphdriver\n(image sha256:[0-9a-f]{64}( sha256:[0-9a-f]{64})+\n)+$/,
    );
  });
});
