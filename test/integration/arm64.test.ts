// An amd64 and an arm64 simulated host side by side, with the very scripts `pulumi up` runs. One app is
// built for linux/amd64 and linux/arm64 (the same site; each image's busybox from Debian's package of its
// architecture) and pushed as two platform images plus an index. Each host gets its own platform's
// digest, one by tarball and the other by registry pull (swapped for the second version, so each host
// loads one and pulls one), and serves it behind the host proxy; the arm64 host's container runs under
// qemu through binfmt_misc, its sshd, dockerd and caddy natively. A redeploy of both drops no request.
// Needs root and scripts/setup-machine.sh (qemu-user-static, the arm64 busybox).
import { HOST_TAG_PREFIX } from "../../components/shell/prelude";
import { readImagePlatforms } from "../../config/registryImage";
import { DockerEngine, startDockerEngine } from "../../local/dockerd";
import { run } from "../../local/exec";
import { buildHttpImage, ImagePlatform, pushImage, pushIndex } from "../../local/images";
import { LocalRegistry, startRegistry } from "../../local/registry";
import { HostArchitecture, stopAllSimHosts } from "../../local/simhost";
import { startProbe } from "./probe";
import { deliver, deliverByPull, rollout, serviceSpec, setUpProxy, viaProxy } from "./serving";
import { repoDigestOf, startTestHost, TestHost } from "./support";

const ARCHITECTURES: HostArchitecture[] = ["amd64", "arm64"];
const PLATFORM: Record<HostArchitecture, ImagePlatform> = { amd64: "linux/amd64", arm64: "linux/arm64" };
/** What `uname -m` says inside a container of each architecture. */
const MACHINE: Record<HostArchitecture, string> = { amd64: "x86_64", arm64: "aarch64" };
const REPOSITORY = "example-org/web";

/** One version of the app: per platform the image ID and the registry's digest reference, and the index. */
interface Release {
  readonly imageIds: Record<HostArchitecture, string>;
  readonly refs: Record<HostArchitecture, string>;
  readonly index: string;
}

let registry: LocalRegistry;
let deployer: DockerEngine;
const hosts = {} as Record<HostArchitecture, TestHost>;
let v1: Release;
let v2: Release;

async function release(version: string): Promise<Release> {
  const imageIds = {} as Record<HostArchitecture, string>;
  const refs = {} as Record<HostArchitecture, string>;
  for (const arch of ARCHITECTURES) {
    const image = await buildHttpImage(deployer, {
      tag: `it/web:${version}-${arch}`,
      platform: PLATFORM[arch],
      version: `web ${version}`,
      machineCgi: true,
    });
    imageIds[arch] = image.id;
    refs[arch] = await repoDigestOf(
      deployer,
      await pushImage(deployer, image, registry, REPOSITORY, `${version}-${arch}`),
    );
  }
  const index = await pushIndex(deployer, registry, REPOSITORY, version, [refs.amd64, refs.arm64]);
  return { imageIds, refs, index };
}

const digestOf = (ref: string) => ref.slice(ref.indexOf("@") + 1);
const sortBy = <T>(items: T[], key: (item: T) => string) =>
  [...items].sort((a, b) => key(a).localeCompare(key(b)));

/** Delivers `rel` to each host by the given delivery, then rolls it out there. */
async function deploy(rel: Release, tarballTo: HostArchitecture) {
  await Promise.all(
    ARCHITECTURES.map(async (arch) => {
      if (arch === tarballTo)
        await deliver(deployer, registry, hosts[arch], "web", rel.refs[arch], PLATFORM[arch]);
      else await deliverByPull(deployer, registry, hosts[arch], "web", rel.refs[arch]);
      const result = await rollout(hosts[arch], serviceSpec(hosts[arch], "web", rel.refs[arch]));
      expect([arch, result.code, result.stderr]).toEqual([arch, 0, ""]);
    }),
  );
}

/** What the host's app container runs: the digest its image tag names, and the image's ID. */
async function served(arch: HostArchitecture): Promise<{ digest: string; imageId: string }> {
  const inspect = await hosts[arch].sim.exec("docker inspect --format '{{.Config.Image}} {{.Image}}' web");
  const [tag, imageId] = inspect.stdout.trim().split(" ");
  const hex = tag.startsWith(`${HOST_TAG_PREFIX}web:`) ? tag.split(":")[1] : `(not a host tag: ${tag})`;
  return { digest: `sha256:${hex}`, imageId };
}

beforeAll(async () => {
  registry = await startRegistry();
  deployer = await startDockerEngine({ name: "it-arm64", insecureRegistries: [registry.host] });
  [hosts.amd64, hosts.arm64] = await Promise.all([
    startTestHost("it-amd", "fd5e:0:0:a1::1", [registry.host]),
    startTestHost("it-arm", "fd5e:0:0:a2::1", [registry.host], { architecture: "arm64" }),
  ]);
  v1 = await release("v1");
  v2 = await release("v2");
}, 300_000);

afterAll(async () => {
  await stopAllSimHosts();
  await deployer?.stop();
  await registry?.stop();
}, 120_000);

test("each image's config names its platform; the index (pushed by the product's index script) lists both, as the preflight reads it", async () => {
  const platforms = await Promise.all(
    ARCHITECTURES.map(async (arch) => {
      const format = "{{.Os}}/{{.Architecture}}";
      const env = { ...process.env, DOCKER_HOST: deployer.dockerHost };
      return (await run("docker", ["image", "inspect", "--format", format, v1.imageIds[arch]], { env }))
        .stdout;
    }),
  );
  expect(platforms).toEqual(["linux/amd64\n", "linux/arm64\n"]);

  // A client that accepts only OCI indexes gets it too: distribution answers with the type it stored.
  const list = "application/vnd.docker.distribution.manifest.list.v2+json";
  for (const accept of [list, "application/vnd.oci.image.index.v1+json"]) {
    const url = `http://${registry.host}/v2/${REPOSITORY}/manifests/${digestOf(v1.index)}`;
    // The credential goes in on stdin (curl's -K -), not in argv.
    const answer = await run("curl", ["-sS", "-g", "--fail", "-K", "-", "-H", `Accept: ${accept}`, url], {
      input: `user = "${registry.user}:${registry.password}"\n`,
    });
    const body = JSON.parse(answer.stdout) as {
      mediaType: string;
      manifests: { digest: string; platform: unknown }[];
    };
    expect(body.mediaType).toBe(list);
    // `docker manifest create` does not keep the order of its arguments; clients match on the platform.
    const entries = body.manifests.map(({ digest, platform }) => ({ digest, platform }));
    expect(sortBy(entries, (entry) => JSON.stringify(entry.platform))).toEqual([
      { digest: digestOf(v1.refs.amd64), platform: { architecture: "amd64", os: "linux" } },
      { digest: digestOf(v1.refs.arm64), platform: { architecture: "arm64", os: "linux" } },
    ]);
  }

  // The preflight's reader, against the real registry (htpasswd: a Basic challenge; plain HTTP).
  const access = { server: registry.host, username: registry.user, token: registry.password, insecure: true };
  expect(await readImagePlatforms(v1.index, access)).toEqual({
    ref: v1.index,
    index: true,
    platforms: { "linux/amd64": v1.refs.amd64, "linux/arm64": v1.refs.arm64 },
  });
  expect(await readImagePlatforms(v1.refs.arm64, access)).toEqual({
    ref: v1.refs.arm64,
    index: false,
    platforms: { "linux/arm64": v1.refs.arm64 },
  });
  await expect(readImagePlatforms(v1.index, { ...access, token: "wrong" })).rejects.toThrow(
    `registry ${registry.host}: image ${v1.index}: HTTP 401 (the registry wants credentials it did not get or refused (hcloud-deploy:registryPullToken))`,
  );
});

test("each host serves its own platform's image through the proxy: x86_64 and aarch64 in the container", async () => {
  await Promise.all(ARCHITECTURES.map(async (arch) => expect((await setUpProxy(hosts[arch])).code).toBe(0)));
  await deploy(v1, "amd64");
  for (const arch of ARCHITECTURES) {
    const host = hosts[arch];
    const machine = await viaProxy(host, 8080, "/cgi-bin/machine");
    const { digest, imageId } = await served(arch);
    console.log(`arch: ${host.sim.name} ${machine} serves ${digest}`);
    expect({ machine, digest, imageId, page: await viaProxy(host) }).toEqual({
      machine: MACHINE[arch],
      digest: digestOf(v1.refs[arch]),
      imageId: v1.imageIds[arch],
      page: "web v1",
    });
    // The host itself is the machine's: only its containers are arm64.
    expect([host.sim.architecture, (await host.sim.exec("uname -m")).stdout]).toEqual([arch, "x86_64\n"]);
  }
}, 180_000);

test("a redeploy of both hosts, each with its platform's new image, drops no request", async () => {
  const probe = startProbe(
    "arm64: redeploy of an amd64 and an arm64 host",
    ARCHITECTURES.map((arch) => ({ url: `http://[${hosts[arch].address}]:8080/` })),
  );
  // The swapped deliveries: the arm64 host now loads a `docker save`, the amd64 host pulls.
  await deploy(v2, "arm64");
  const counts = await probe.stop();
  expect(counts.failures).toEqual([]);
  expect(counts.failed).toBe(0);
  for (const arch of ARCHITECTURES) {
    const host = hosts[arch];
    const { digest, imageId } = await served(arch);
    expect({
      machine: await viaProxy(host, 8080, "/cgi-bin/machine"),
      digest,
      imageId,
      page: await viaProxy(host),
    }).toEqual({
      machine: MACHINE[arch],
      digest: digestOf(v2.refs[arch]),
      imageId: v2.imageIds[arch],
      page: "web v2",
    });
  }
}, 300_000);
