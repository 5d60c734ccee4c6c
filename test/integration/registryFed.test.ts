// Registry-fed delivery on simulated hosts with a real registry: the deployer reads the manifest and
// fetches from the registry only the blobs a host lacks, with no Docker engine of its own. A tap between
// the deployer and the registry counts every byte downloaded and misbehaves on purpose (401, 404, 429, a
// flipped byte). Needs root and scripts/setup-machine.sh.
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { hostTagOf } from "../../components/shell/prelude";
import { tarballDeliveryScript } from "../../components/shell/tarball";
import { DockerEngine, startDockerEngine } from "../../local/dockerd";
import { run, RunResult } from "../../local/exec";
import { pushImage } from "../../local/images";
import { LocalRegistry, startRegistry } from "../../local/registry";
import { RegistryTap, startRegistryTap } from "../../local/registryTap";
import { stopAllSimHosts } from "../../local/simhost";
import {
  bytesSentTo,
  deployerKey,
  LayeredImages,
  repoDigestOf,
  runOnHost,
  stagedFiles,
  startTestHost,
  TestHost,
} from "./support";

let registry: LocalRegistry;
let tap: RegistryTap;
let builder: DockerEngine;
let layered: LayeredImages;
let hosts: TestHost[];
/** A deployer without a Docker engine: `docker` is a stub that logs its arguments and fails. */
let fresh: { dir: string; cache: string; dockerLog: string; env: NodeJS.ProcessEnv };
const digests: Record<string, string> = {};
const KiB = 1024;

/** `<tap>/example-org/web@<digest>`: the reference as the stack would pin it, read through the tap. */
const ref = (name: string) => `${tap.host}/example-org/web@${digests[name]}`;

function deliver(targets: TestHost[], name: string, opts: { token?: string } = {}): Promise<RunResult> {
  const script = tarballDeliveryScript({
    app: "web",
    hostTag: hostTagOf("web", ref(name)),
    imageRef: ref(name),
    hosts: targets.map((h) => ({ hostName: h.sim.name, target: h.target })),
    registry: { server: tap.host, username: registry.user },
    leaveFailuresToHosts: false,
  });
  return run("bash", ["-c", script], {
    input: `${deployerKey.privateKey}\n${opts.token ?? registry.password}\n`,
    check: false,
    env: fresh.env,
  });
}

async function hostHas(host: TestHost, name: string): Promise<boolean> {
  const tag = hostTagOf("web", ref(name));
  return (
    (await runOnHost(host, `docker image inspect ${tag} > /dev/null 2>&1 && echo yes`)).stdout.trim() ===
    "yes"
  );
}

async function forget(host: TestHost, name: string): Promise<void> {
  await runOnHost(
    host,
    `docker rmi -f ${hostTagOf("web", ref(name))} > /dev/null 2>&1; docker image prune -f > /dev/null`,
  );
}

/** The compressed size of the image's top layer, as the registry stores it (its manifest says). */
async function topLayerBytes(name: string): Promise<number> {
  const login = Buffer.from(`${registry.user}:${registry.password}`).toString("base64");
  const response = await fetch(`http://${tap.host}/v2/example-org/web/manifests/${digests[name]}`, {
    headers: {
      Authorization: `Basic ${login}`,
      Accept: "application/vnd.docker.distribution.manifest.v2+json",
    },
  });
  const manifest = (await response.json()) as { layers: { size: number }[] };
  return manifest.layers[manifest.layers.length - 1].size;
}

const dockerCalls = async () => (await readFile(fresh.dockerLog, "utf8").catch(() => "")).trim();
const cachedBlobs = async () =>
  readdir(path.join(fresh.cache, "blobs", "sha256")).catch(() => [] as string[]);

beforeAll(async () => {
  registry = await startRegistry();
  tap = await startRegistryTap(registry.host);
  builder = await startDockerEngine({ name: "it-rf-build", insecureRegistries: [registry.host] });
  hosts = await Promise.all([
    startTestHost("it-rf1", "fd5e:0:0:c2::1", []),
    startTestHost("it-rf2", "fd5e:0:0:c3::1", []),
  ]);
  layered = await LayeredImages.create(builder, 8);
  // v2 differs from v1 in one file; v3 adds a 2 MiB top layer (the blob the tap will corrupt).
  const builds = {
    v1: await layered.build("it/rf:v1", "web v1"),
    v2: await layered.build("it/rf:v2", "web v2"),
    v3: await layered.build("it/rf:v3", "web v3", 2),
  };
  for (const [name, tag] of Object.entries(builds)) {
    const pushed = await pushImage(builder, { id: tag, tag }, registry, "example-org/web", name);
    digests[name] = (await repoDigestOf(builder, pushed)).split("@")[1];
  }
  const dir = await mkdtemp(path.join(tmpdir(), "hcd-fresh-deployer-"));
  const bin = path.join(dir, "bin");
  await mkdir(bin);
  const dockerLog = path.join(dir, "docker.log");
  await writeFile(path.join(bin, "docker"), `#!/bin/sh\necho "docker $*" >> ${dockerLog}\nexit 1\n`);
  await chmod(path.join(bin, "docker"), 0o755);
  const cache = path.join(dir, "cache");
  fresh = {
    dir,
    cache,
    dockerLog,
    env: {
      ...process.env,
      PATH: `${bin}:${process.env.PATH}`,
      DOCKER_HOST: "unix:///nonexistent/docker.sock",
      HCLOUD_DEPLOY_CACHE: cache,
    },
  };
}, 300_000);

afterAll(async () => {
  await stopAllSimHosts();
  await tap?.stop();
  await builder?.stop();
  await registry?.stop();
  await layered?.remove();
  if (fresh) await rm(fresh.dir, { recursive: true, force: true });
}, 120_000);

beforeEach(async () => {
  tap.reset();
  tap.fault = undefined;
  tap.corrupt.clear();
  await rm(fresh.dockerLog, { force: true });
});

describe("registry-fed delivery from a deployer without an engine", () => {
  test("cold: the whole image from the registry, no docker command on the deployer", async () => {
    const result = await deliver([hosts[0]], "v1");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^hcloud-deploy: web on it-rf1: fetched 3 of 3 layers from 127\.0\.0\.1:\d+ /m,
    );
    expect(result.stdout).toMatch(
      /^hcloud-deploy: web on it-rf1: loaded sha256:[0-9a-f]{64} as hcloud-deploy\/web:/m,
    );
    expect(await hostHas(hosts[0], "v1")).toBe(true);
    expect(await dockerCalls()).toBe("");
    expect(await stagedFiles(hosts[0])).toBe("");
  });

  test("a one-file change downloads no more than the changed layer + 64 KiB, no docker pull or save", async () => {
    await rm(fresh.cache, { recursive: true, force: true });
    const changed = await topLayerBytes("v2");
    const sentBefore = await bytesSentTo(hosts[0]);
    const result = await deliver([hosts[0]], "v2");
    const sent = (await bytesSentTo(hosts[0])) - sentBefore;
    process.stderr.write(
      `registry-fed: one-file change downloaded ${tap.bodyBytes} bytes (changed layer ${changed} bytes), ` +
        `sent ${sent} bytes to the host, docker calls: ${(await dockerCalls()) || "none"}\n`,
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/fetched 1 of 1 layers /);
    expect(await hostHas(hosts[0], "v2")).toBe(true);
    expect(tap.bodyBytes).toBeLessThanOrEqual(changed + 64 * KiB);
    // The config and the top layer (each asked twice when the first ask meets the auth challenge).
    expect(new Set(tap.requests.filter((r) => r.includes("/blobs/"))).size).toBe(2);
    expect(await dockerCalls()).toBe("");
  });

  test("the blob cache: a second host gets the image with nothing downloaded for what the cache holds", async () => {
    const result = await deliver([hosts[1]], "v2");
    expect(result.code).toBe(0);
    // it-rf2 is cold; v2's top layer and config came before, so only v1's lower layers are fetched.
    expect(result.stdout).toMatch(/fetched 2 of 3 layers .*; 1 \([0-9.]+ MiB\) from the deployer's cache/);
    const again = await (async () => {
      await forget(hosts[1], "v2");
      tap.reset();
      return deliver([hosts[1]], "v2");
    })();
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/fetched 0 of 3 layers .*\(0\.0 MiB, 0 bytes\); 3 /);
    expect(tap.bodyBytes).toBe(0);
  });

  test("a corrupted blob is refused before anything reaches a host, and is not cached", async () => {
    const login = Buffer.from(`${registry.user}:${registry.password}`).toString("base64");
    const manifest = (await (
      await fetch(`http://${tap.host}/v2/example-org/web/manifests/${digests.v3}`, {
        headers: {
          Authorization: `Basic ${login}`,
          Accept: "application/vnd.docker.distribution.manifest.v2+json",
        },
      })
    ).json()) as { layers: { digest: string }[] };
    const top = manifest.layers[manifest.layers.length - 1].digest;
    tap.corrupt.add(top);
    const before = await bytesSentTo(hosts[0]);
    const result = await deliver([hosts[0]], "v3");
    const sent = (await bytesSentTo(hosts[0])) - before;
    process.stderr.write(
      `registry-fed: corrupted blob refused; ${sent} bytes reached the host (SSH and the probe)\n`,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^hcloud-deploy: web on it-rf1: fetching the image from 127\\.0\\.0\\.1:\\d+ failed: registry 127\\.0\\.0\\.1:\\d+: ` +
          `image [^ ]+: blob ${top} arrived as sha256:[0-9a-f]{64}: refused\\n$`,
      ),
    );
    expect(await hostHas(hosts[0], "v3")).toBe(false);
    expect(await stagedFiles(hosts[0])).toBe("");
    // The probe, the arming and their SSH: far less than the 2 MiB layer.
    expect(sent).toBeLessThan(64 * KiB);
    expect(await cachedBlobs()).not.toContain(top.slice("sha256:".length));
  });

  test.each([
    [401, /^\/v2\//, "HTTP 401 \\(the registry wants credentials"],
    [404, /\/manifests\//, "HTTP 404 \\(no such manifest"],
    [429, /^\/v2\//, "HTTP 429 \\(rate limited by the registry"],
  ])(
    "a %d from the registry fails in one line naming the image; nothing is left on the host",
    async (status, where, cause) => {
      tap.fault = { status, path: where };
      await rm(fresh.cache, { recursive: true, force: true });
      const result = await deliver([hosts[0]], "v3");
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toMatch(
        new RegExp(
          `^hcloud-deploy: web on it-rf1: registry 127\\.0\\.0\\.1:\\d+: image ${ref("v3").replace(/[.]/g, "\\.")}: ${cause}[^\\n]*\\n$`,
        ),
      );
      expect(await hostHas(hosts[0], "v3")).toBe(false);
      expect(await stagedFiles(hosts[0])).toBe("");
      // A 404 asks the deployer's engine whether it has its own copy (the stub says no); nothing else does.
      expect(await dockerCalls()).toBe(status === 404 ? `docker image inspect ${ref("v3")}` : "");
    },
  );
});
