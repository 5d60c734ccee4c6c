// The deployer's side of registry-fed delivery against a loopback registry: plan (which image of an index,
// its config and layers), fetchArchive (a `docker load` archive of the blobs a host lacks, through the
// blob cache) and main (exit status, stdout and one-line stderr as the delivery script reads them).
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { BlobCache } from "../../../components/registry/blobCache";
import { RegistryClient } from "../../../components/registry/client";
import {
  EXIT_NOT_IN_REGISTRY,
  fetchArchive,
  FetchContext,
  main,
  plan,
} from "../../../components/registry/deployerFetch";
import {
  fastPauses,
  imageRegistry,
  INDEX,
  Loopback,
  MANIFEST,
  sha,
  startLoopback,
} from "../support/loopbackRegistry";

const LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip";
type Blobs = Record<string, { body: string | Buffer; type: string }>;

/** Bytes that are not all alike, `n` of them, differing by `seed`. */
const bytes = (n: number, seed: number) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) % 256));

/** A single image of `platform` with these layers; `diffIds` default to one per layer. */
function image(platform: string, layers: Buffer[], diffIds?: string[], mediaType = MANIFEST) {
  const [osName, architecture] = platform.split("/");
  const ids = diffIds ?? layers.map((l) => sha(Buffer.concat([Buffer.from("tar of "), l])));
  const config = JSON.stringify({ os: osName, architecture, rootfs: { type: "layers", diff_ids: ids } });
  const descriptors = layers.map((l) => ({ mediaType: LAYER, size: l.length, digest: sha(l) }));
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType,
    config: {
      mediaType: "application/vnd.docker.container.image.v1+json",
      size: config.length,
      digest: sha(config),
    },
    layers: descriptors,
  });
  const blobs: Blobs = {
    [sha(manifest)]: { body: manifest, type: mediaType },
    [sha(config)]: { body: config, type: "application/octet-stream" },
  };
  for (const l of layers) blobs[sha(l)] = { body: l, type: "application/octet-stream" };
  return { digest: sha(manifest), config: sha(config), configBody: config, diffIds: ids, layers, blobs };
}

// Three layers: 1.5 MiB, 300 KiB, 1000 bytes.
const layers = [bytes(1.5 * 2 ** 20, 1), bytes(300 * 1024, 2), bytes(1000, 3)];
const amd64 = image("linux/amd64", layers);
const arm64 = image("linux/arm64", [bytes(500, 4)]);
const indexBody = JSON.stringify({
  schemaVersion: 2,
  mediaType: INDEX,
  manifests: [
    { mediaType: MANIFEST, digest: amd64.digest, size: 1, platform: { os: "linux", architecture: "amd64" } },
    {
      mediaType: MANIFEST,
      digest: arm64.digest,
      size: 1,
      platform: { os: "linux", architecture: "arm64", variant: "v8" },
    },
    {
      mediaType: MANIFEST,
      digest: sha("att"),
      size: 1,
      platform: { os: "unknown", architecture: "unknown" },
    },
  ],
});
const all: Blobs = { ...amd64.blobs, ...arm64.blobs, [sha(indexBody)]: { body: indexBody, type: INDEX } };
const hex = (digest: string) => digest.slice("sha256:".length);

let loop: Loopback;
let dir: string;
let said: string[];

beforeAll(async () => {
  loop = await startLoopback();
});
afterAll(() => loop.close());
beforeEach(async () => {
  loop.seen.length = 0;
  loop.handler = imageRegistry(() => loop.host, all, "bearer");
  dir = await mkdtemp(path.join(os.tmpdir(), "hcd-deployer-fetch-"));
  said = [];
});
afterEach(async () => {
  jest.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

/** A fresh client (nothing downloaded yet) on the test's cache. */
const context = (maxBytes = 2 ** 30): FetchContext => ({
  client: new RegistryClient(loop.host, "o/web", {
    server: loop.host,
    username: "bot",
    token: "pull-token",
    insecure: false,
  }),
  cache: new BlobCache(path.join(dir, "cache"), maxBytes),
  server: loop.host,
  say: (line) => said.push(line),
});
/** The digests the registry was asked for, token requests left out. */
const asked = () =>
  loop.seen
    .filter((s) => s.authorization !== undefined && !s.url.startsWith("/token"))
    .map((s) => s.url.replace(/^\/v2\/o\/web\//, ""));
const cached = async () => (await readdir(path.join(dir, "cache", "sha256"))).sort();

describe("plan", () => {
  test("a single image: its manifest, config and diff_ids, read once and cached", async () => {
    const lines = [`manifest ${amd64.digest}`, `image ${amd64.config}`, `layers ${amd64.diffIds.join(" ")}`];
    expect(await plan(context(), amd64.digest, "linux/amd64")).toEqual(lines);
    expect(asked()).toEqual([`manifests/${amd64.digest}`, `blobs/${amd64.config}`]);
    expect(await cached()).toEqual([hex(amd64.digest), hex(amd64.config)].sort());
    // Planned again, from the cache alone.
    loop.seen.length = 0;
    expect(await plan(context(), amd64.digest, "linux/amd64")).toEqual(lines);
    expect(loop.seen).toEqual([]);
  });

  test("a manifest whose body has no mediaType plans the same from the cache as from the registry", async () => {
    const { mediaType: _omitted, ...bare } = JSON.parse(amd64.blobs[amd64.digest].body as string) as {
      mediaType: string;
    };
    const body = JSON.stringify(bare);
    const digest = sha(body);
    const ctx = context();
    await ctx.cache.write(digest, Buffer.from(body));
    expect(await plan(ctx, digest, "linux/amd64")).toEqual([
      `manifest ${digest}`,
      `image ${amd64.config}`,
      `layers ${amd64.diffIds.join(" ")}`,
    ]);
    expect(asked()).toEqual([`blobs/${amd64.config}`]);
  });

  test("an index: the platform's entry (whatever its variant)", async () => {
    expect(await plan(context(), sha(indexBody), "linux/arm64")).toEqual([
      `manifest ${arm64.digest}`,
      `image ${arm64.config}`,
      `layers ${arm64.diffIds[0]}`,
    ]);
    expect(asked()).toEqual([
      `manifests/${sha(indexBody)}`,
      `manifests/${arm64.digest}`,
      `blobs/${arm64.config}`,
    ]);
  });

  const oneLayerTwoIds = image("linux/amd64", [bytes(10, 5)], [sha("x"), sha("y")]);
  const noLayers = image("linux/amd64", [bytes(10, 6)], []);
  const schema1 = image("linux/amd64", [], [], "application/vnd.docker.distribution.manifest.v1+prettyjws");
  test.each([
    [
      "an index without the platform",
      sha(indexBody),
      "linux/riscv64",
      "the index has no image for linux/riscv64",
    ],
    [
      "an image of another platform",
      arm64.digest,
      "linux/amd64",
      "the image is for linux/arm64, the hosts run linux/amd64",
    ],
    [
      "an index's image of another os",
      sha(indexBody),
      "windows/amd64",
      "the index has no image for windows/amd64",
    ],
    [
      "more diff_ids than layers",
      oneLayerTwoIds.digest,
      "linux/amd64",
      "the manifest lists 1 layers, the config 2",
    ],
    [
      "fewer diff_ids than layers",
      noLayers.digest,
      "linux/amd64",
      "the manifest lists 1 layers, the config 0",
    ],
    [
      "a schema 1 manifest",
      schema1.digest,
      "linux/amd64",
      "unsupported manifest type application/vnd.docker.distribution.manifest.v1+prettyjws",
    ],
    [
      "no such manifest",
      sha("nothing"),
      "linux/amd64",
      "HTTP 404 (no such manifest: was it pushed, is the digest right?)",
    ],
  ])("%s fails", async (_, digest, platform, problem) => {
    loop.handler = imageRegistry(
      () => loop.host,
      { ...all, ...oneLayerTwoIds.blobs, ...noLayers.blobs, ...schema1.blobs },
      "none",
    );
    await expect(plan(context(), digest, platform)).rejects.toThrow(new Error(problem));
  });
});

describe("fetchArchive", () => {
  const out = (name = "stage") => path.join(dir, name);
  const layerBytes = (from: number) => layers.slice(from).reduce((sum, l) => sum + l.length, 0);
  const archiveManifest = [
    {
      Config: `blobs/sha256/${hex(amd64.config)}`,
      RepoTags: null,
      Layers: layers.map((l) => `blobs/sha256/${hex(sha(l))}`),
    },
  ];
  /** The archive's blobs by name, each checked to hold the bytes its name says. */
  async function archiveBlobs(stage: string): Promise<string[]> {
    const names = (await readdir(path.join(stage, "blobs", "sha256"))).sort();
    for (const name of names)
      expect(sha(await readFile(path.join(stage, "blobs", "sha256", name)))).toBe(`sha256:${name}`);
    return names;
  }

  test("all layers: manifest.json, the config and the layers as stored, each fetched once and cached", async () => {
    const summary = await fetchArchive(context(), amd64.digest, 0, out());
    expect(summary).toBe(`fetched 3 of 3 layers from ${loop.host} (1.8 MiB, ${layerBytes(0)} bytes)`);
    expect(JSON.parse(await readFile(path.join(out(), "manifest.json"), "utf8"))).toEqual(archiveManifest);
    expect(await readdir(out())).toEqual(["blobs", "manifest.json"]);
    expect(await archiveBlobs(out())).toEqual([amd64.config, ...layers.map(sha)].map(hex).sort());
    expect(asked().sort()).toEqual(
      [`manifests/${amd64.digest}`, `blobs/${amd64.config}`, ...layers.map((l) => `blobs/${sha(l)}`)].sort(),
    );
    expect(await cached()).toEqual([amd64.digest, amd64.config, ...layers.map(sha)].map(hex).sort());
    expect(await readdir(path.join(dir, "cache", "tmp"))).toEqual([]);
    expect(said).toEqual([]);
  });

  test("skipping the first 2 layers: manifest.json lists them all, the archive holds the last", async () => {
    const summary = await fetchArchive(context(), amd64.digest, 2, out());
    expect(summary).toBe(`fetched 1 of 1 layers from ${loop.host} (0.0 MiB, 1000 bytes)`);
    expect(JSON.parse(await readFile(path.join(out(), "manifest.json"), "utf8"))).toEqual(archiveManifest);
    expect(await archiveBlobs(out())).toEqual([hex(amd64.config), hex(sha(layers[2]))].sort());
    expect(asked()).toEqual([
      `manifests/${amd64.digest}`,
      `blobs/${amd64.config}`,
      `blobs/${sha(layers[2])}`,
    ]);
  });

  test("a second run downloads 0 bytes: everything comes from the cache", async () => {
    await fetchArchive(context(), amd64.digest, 0, out("first"));
    loop.seen.length = 0;
    const summary = await fetchArchive(context(), amd64.digest, 0, out("second"));
    expect(summary).toBe(
      `fetched 0 of 3 layers from ${loop.host} (0.0 MiB, 0 bytes); 3 (1.8 MiB) from the deployer's cache`,
    );
    expect(loop.seen).toEqual([]);
    expect(await archiveBlobs(out("second"))).toEqual(await archiveBlobs(out("first")));
    // Placed as hard links of the cached blobs.
    const placed = await stat(path.join(out("second"), "blobs", "sha256", hex(sha(layers[0]))));
    expect(placed.ino).toBe((await stat(path.join(dir, "cache", "sha256", hex(sha(layers[0]))))).ino);
  });

  test("layers cached by an earlier run are not fetched again; the others meet one challenge", async () => {
    await fetchArchive(context(), amd64.digest, 2, out("first"));
    loop.seen.length = 0;
    const summary = await fetchArchive(context(), amd64.digest, 0, out("second"));
    const fetched = layers[0].length + layers[1].length;
    expect(summary).toBe(
      `fetched 2 of 3 layers from ${loop.host} (1.8 MiB, ${fetched} bytes); 1 (0.0 MiB) from the deployer's cache`,
    );
    expect(asked().sort()).toEqual([`blobs/${sha(layers[0])}`, `blobs/${sha(layers[1])}`].sort());
    // Both downloads started at once and were challenged: one token serves them.
    expect(loop.seen.filter((s) => s.url.startsWith("/token"))).toHaveLength(1);
  });

  test("a layer listed twice is fetched once", async () => {
    const twice = image("linux/amd64", [layers[2], layers[2]]);
    loop.handler = imageRegistry(() => loop.host, twice.blobs, "none");
    const summary = await fetchArchive(context(), twice.digest, 0, out());
    expect(summary).toBe(`fetched 1 of 1 layers from ${loop.host} (0.0 MiB, 1000 bytes)`);
    const manifest = JSON.parse(await readFile(path.join(out(), "manifest.json"), "utf8"));
    expect(manifest[0].Layers).toEqual([
      `blobs/sha256/${hex(sha(layers[2]))}`,
      `blobs/sha256/${hex(sha(layers[2]))}`,
    ]);
  });

  test("a layer the registry sends wrong is refused and not cached", async () => {
    const inner = imageRegistry(() => loop.host, all, "none");
    const wrong = bytes(1000, 9);
    loop.handler = (req, res) =>
      req.url?.endsWith(sha(layers[2])) ? { status: 200, body: wrong } : inner(req, res);
    await expect(fetchArchive(context(), amd64.digest, 2, out())).rejects.toThrow(
      new Error(`blob ${sha(layers[2])} arrived as ${sha(wrong)}: refused`),
    );
    expect(await cached()).toEqual([hex(amd64.digest), hex(amd64.config)].sort());
    expect(await readdir(path.join(dir, "cache", "tmp"))).toEqual([]);
  });

  test("the cache is pruned to its bound afterwards, the image's blobs kept", async () => {
    const cache = new BlobCache(path.join(dir, "cache"), 0);
    await cache.write(sha("old"), Buffer.from("old"));
    const summary = await fetchArchive(context(0), amd64.digest, 2, out());
    expect(summary).toBe(`fetched 1 of 1 layers from ${loop.host} (0.0 MiB, 1000 bytes)`);
    expect(await cached()).toEqual([hex(amd64.digest), hex(amd64.config), hex(sha(layers[2]))].sort());
  });

  test.each([-1, 4, 1.5, NaN])("skipping %d of 3 layers is refused, nothing written", async (skip) => {
    await expect(fetchArchive(context(), amd64.digest, skip, out())).rejects.toThrow(
      new Error(`cannot skip ${skip} of 3 layers`),
    );
    await expect(stat(out())).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("main", () => {
  const ref = (digest: string) => `${loop.host}/o/web@${digest}`;
  const env = (): NodeJS.ProcessEnv => ({
    HCLOUD_DEPLOY_REGISTRY: loop.host,
    HCLOUD_DEPLOY_REGISTRY_USER: "bot",
    HCLOUD_DEPLOY_CACHE: path.join(dir, "home-cache"),
    HCLOUD_DEPLOY_SAY: "hcloud-deploy: web on h1: ",
  });
  /** main's exit status and what it wrote, stdout and stderr stubbed for the call only. */
  async function run(argv: string[], token = "pull-token") {
    const written = { stdout: "", stderr: "" };
    const capture = (stream: "stdout" | "stderr") =>
      jest.spyOn(process[stream], "write").mockImplementation((chunk: string | Uint8Array) => {
        written[stream] += chunk.toString();
        return true;
      });
    const spies = [capture("stdout"), capture("stderr")];
    try {
      return { code: await main(argv, env(), token), ...written };
    } finally {
      spies.forEach((spy) => spy.mockRestore());
    }
  }

  test("plan: the lines on stdout, the platform defaulting to linux/amd64", async () => {
    expect(await run(["plan", ref(sha(indexBody))])).toEqual({
      code: 0,
      stdout: `manifest ${amd64.digest}\nimage ${amd64.config}\nlayers ${amd64.diffIds.join(" ")}\n`,
      stderr: "",
    });
    expect(await run(["plan", ref(sha(indexBody)), "linux/arm64"])).toEqual({
      code: 0,
      stdout: `manifest ${arm64.digest}\nimage ${arm64.config}\nlayers ${arm64.diffIds[0]}\n`,
      stderr: "",
    });
    // The cache is where the environment says.
    expect((await readdir(path.join(dir, "home-cache", "blobs", "sha256"))).length).toBe(5);
  });

  test("fetch: the archive, and the summary on stdout with the prefix", async () => {
    const stage = path.join(dir, "stage");
    expect(await run(["fetch", ref(amd64.digest), "1", stage])).toEqual({
      code: 0,
      stdout: `hcloud-deploy: web on h1: fetched 2 of 2 layers from ${loop.host} (0.3 MiB, ${layers[1].length + layers[2].length} bytes)\n`,
      stderr: "",
    });
    expect((await readdir(path.join(stage, "blobs", "sha256"))).sort()).toEqual(
      [amd64.config, sha(layers[1]), sha(layers[2])].map((d) => d.slice(7)).sort(),
    );
  });

  const HTTP_404 = "HTTP 404 (no such manifest: was it pushed, is the digest right?)";
  const HTTP_401 =
    "HTTP 401 (the registry wants credentials it did not get or refused (hcloud-deploy:registryPullToken))";
  test.each([
    ["plan, no such manifest", EXIT_NOT_IN_REGISTRY, ["plan", "MISSING"], "pull-token", "bearer", HTTP_404],
    ["fetch, no such manifest", 1, ["fetch", "MISSING", "0", "STAGE"], "pull-token", "bearer", HTTP_404],
    ["plan, no token for Basic", 1, ["plan", "AMD64"], "", "basic", HTTP_401],
    ["plan, no token for the token endpoint", 1, ["plan", "AMD64"], "", "bearer", HTTP_401],
    ["fetch, no token", 1, ["fetch", "AMD64", "0", "STAGE"], "", "basic", HTTP_401],
    [
      "plan, another platform",
      1,
      ["plan", "ARM64", "linux/amd64"],
      "pull-token",
      "none",
      "the image is for linux/arm64, the hosts run linux/amd64",
    ],
  ] as const)(
    "%s: exit status %d, one line naming the registry and the image",
    async (_, code, argv, token, auth, problem) => {
      loop.handler = imageRegistry(() => loop.host, all, auth);
      const names: Record<string, string> = {
        MISSING: ref(sha("missing")),
        AMD64: ref(amd64.digest),
        ARM64: ref(arm64.digest),
        STAGE: path.join(dir, "stage"),
      };
      const args = argv.map((a) => names[a] ?? a);
      expect(await run(args, token)).toEqual({
        code,
        stdout: "",
        stderr: `registry ${loop.host}: image ${args[1]}: ${problem}\n`,
      });
    },
  );

  test("rate limited three times: exit status 1, one line", async () => {
    const pauses = fastPauses();
    loop.handler = () => ({ status: 429 });
    expect(await run(["plan", ref(amd64.digest)])).toEqual({
      code: 1,
      stdout: "",
      stderr: `registry ${loop.host}: image ${ref(amd64.digest)}: HTTP 429 (rate limited by the registry; try again later)\n`,
    });
    expect(pauses).toEqual([500, 1000]);
    expect(loop.seen).toHaveLength(3);
  });

  const USAGE = "usage: fetch.js plan <registry/name@sha256:…> <os/arch> | fetch <ref> <skip> <dir>\n";
  test.each([
    ["no arguments", []],
    ["no reference", ["plan"]],
    ["an unknown command", ["pull", "REF"]],
    ["a tag, not a digest", ["plan", "ghcr.io/o/web:latest"]],
    ["a digest-less reference to fetch", ["fetch", "ghcr.io/o/web", "0", "/tmp/x"]],
    ["fetch without a directory", ["fetch", "REF", "0"]],
    ["fetch without the layers to skip", ["fetch", "REF"]],
    ["fetch with a word for the layers to skip", ["fetch", "REF", "all", "/tmp/x"]],
    ["plan with a word too many", ["plan", "REF", "linux/amd64", "extra"]],
  ])("%s: usage, exit status 2", async (_, argv) => {
    const args = argv.map((a) => (a === "REF" ? ref(amd64.digest) : a));
    expect(await run(args)).toEqual({ code: 2, stdout: "", stderr: USAGE });
    expect(loop.seen).toEqual([]);
  });
});
