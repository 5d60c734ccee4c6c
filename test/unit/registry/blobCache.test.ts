// The deployer's blob cache on a temporary directory: where it lives and its bound from the environment,
// blobs written, read, placed and committed by digest, and pruning, least recently used first.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { BlobCache, DEFAULT_BLOB_CACHE_MIB, linkOrCopy } from "../../../components/registry/blobCache";
import { sha } from "../support/loopbackRegistry";

// The module's own fs/promises (jest hands core modules out as they are), for link to be made to fail.
const fsPromises: typeof import("node:fs/promises") = jest.requireActual("node:fs/promises");
const MiB = 2 ** 20;
const DAY_MS = 24 * 3600 * 1000;

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), "hcd-blob-cache-"));
});
afterEach(async () => {
  jest.restoreAllMocks();
  await rm(root, { recursive: true, force: true });
});

/** Sets a file's access and modification time to `msAgo` before now. */
const age = (file: string, msAgo: number) => {
  const then = new Date(Date.now() - msAgo);
  return utimes(file, then, then);
};
const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

describe("BlobCache.fromEnv", () => {
  test.each([
    ["nothing set", {}, "/root/.cache/hcloud-deploy/blobs", DEFAULT_BLOB_CACHE_MIB * MiB],
    ["HOME", { HOME: "/home/u" }, "/home/u/.cache/hcloud-deploy/blobs", 4096 * MiB],
    [
      "HCLOUD_DEPLOY_CACHE over HOME",
      { HCLOUD_DEPLOY_CACHE: "/var/c", HOME: "/home/u" },
      "/var/c/blobs",
      4096 * MiB,
    ],
    [
      "empty values",
      { HCLOUD_DEPLOY_CACHE: "", HOME: "", HCLOUD_DEPLOY_BLOB_CACHE_MIB: "" },
      "/root/.cache/hcloud-deploy/blobs",
      4096 * MiB,
    ],
    ["a bound", { HCLOUD_DEPLOY_BLOB_CACHE_MIB: "512" }, "/root/.cache/hcloud-deploy/blobs", 512 * MiB],
    [
      "a fractional bound",
      { HCLOUD_DEPLOY_BLOB_CACHE_MIB: "0.5" },
      "/root/.cache/hcloud-deploy/blobs",
      MiB / 2,
    ],
    ["a bound of 0", { HCLOUD_DEPLOY_BLOB_CACHE_MIB: "0" }, "/root/.cache/hcloud-deploy/blobs", 0],
  ])("%s", (_, env, cacheRoot, maxBytes) => {
    const cache = BlobCache.fromEnv(env);
    expect([cache.root, cache.maxBytes]).toEqual([cacheRoot, maxBytes]);
  });

  test.each(["lots", "-1", "Infinity", "12MiB", "NaN", " "])(
    "HCLOUD_DEPLOY_BLOB_CACHE_MIB=%s is refused",
    (mib) => {
      expect(() => BlobCache.fromEnv({ HCLOUD_DEPLOY_BLOB_CACHE_MIB: mib })).toThrow(
        new Error(`HCLOUD_DEPLOY_BLOB_CACHE_MIB must be a number of MiB, not ${mib}`),
      );
    },
  );
});

describe("pathOf", () => {
  const hex = "ab".repeat(32);
  test("a sha256 digest: <root>/sha256/<hex>", () => {
    expect(new BlobCache("/c", 0).pathOf(`sha256:${hex}`)).toBe(`/c/sha256/${hex}`);
  });

  test.each([
    `sha512:${hex}`,
    `sha256:${hex.toUpperCase()}`,
    "sha256:abc",
    `sha256:${hex}0`,
    hex,
    `sha256:../../${hex.slice(6)}`,
    `sha256:${hex}/x`,
    "",
  ])("%s is refused", (digest) => {
    expect(() => new BlobCache("/c", 0).pathOf(digest)).toThrow(new Error(`not a sha256 digest: ${digest}`));
  });
});

describe("write, read, place, temporary, commit", () => {
  const body = Buffer.from("layer bytes");
  const digest = sha(body);

  test("a written blob is read back; the file is private", async () => {
    const cache = new BlobCache(path.join(root, "blobs"), MiB);
    await cache.write(digest, body);
    expect(await cache.read(digest)).toEqual(body);
    const file = path.join(root, "blobs", "sha256", digest.slice(7));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    expect(await readdir(path.join(root, "blobs", "tmp"))).toEqual([]);
  });

  test.each([
    ["a blob not cached", sha("absent")],
    ["a digest that is none", "sha256:nope"],
  ])("reading %s: undefined", async (_, missing) => {
    const cache = new BlobCache(root, MiB);
    await cache.write(digest, body);
    expect(await cache.read(missing)).toBeUndefined();
  });

  test("reading marks the blob used", async () => {
    const cache = new BlobCache(root, MiB);
    await cache.write(digest, body);
    await age(cache.pathOf(digest), DAY_MS);
    const before = Date.now();
    await cache.read(digest);
    expect((await stat(cache.pathOf(digest))).mtimeMs).toBeGreaterThanOrEqual(before - 1000);
  });

  test("placing a cached blob: a hard link at dest (its directories made), marked used", async () => {
    const cache = new BlobCache(path.join(root, "blobs"), MiB);
    await cache.write(digest, body);
    await age(cache.pathOf(digest), DAY_MS);
    const before = Date.now();
    const dest = path.join(root, "archive", "blobs", "sha256", digest.slice(7));
    expect(await cache.place(digest, dest)).toBe(true);
    expect(await readFile(dest)).toEqual(body);
    const [placed, cached] = await Promise.all([stat(dest), stat(cache.pathOf(digest))]);
    expect([placed.ino, placed.nlink]).toEqual([cached.ino, 2]);
    expect(cached.mtimeMs).toBeGreaterThanOrEqual(before - 1000);
  });

  test("placing a blob not cached: false, nothing at dest", async () => {
    const cache = new BlobCache(root, MiB);
    const dest = path.join(root, "archive", "x");
    expect(await cache.place(sha("absent"), dest)).toBe(false);
    expect(await exists(dest)).toBe(false);
  });

  test("placing where the blob already is: true, the file left as it was", async () => {
    const cache = new BlobCache(path.join(root, "blobs"), MiB);
    await cache.write(digest, body);
    const dest = path.join(root, "there");
    await writeFile(dest, "already");
    expect(await cache.place(digest, dest)).toBe(true);
    expect(await readFile(dest, "utf8")).toBe("already");
  });

  test("a temporary file is private to this process, committed under its digest", async () => {
    const cache = new BlobCache(path.join(root, "blobs"), MiB);
    const [a, b] = [await cache.temporary(), await cache.temporary()];
    expect(a).not.toBe(b);
    for (const file of [a, b]) {
      expect(path.dirname(file)).toBe(path.join(root, "blobs", "tmp"));
      expect(path.basename(file)).toMatch(new RegExp(`^${process.pid}-[0-9a-f]{12}$`));
    }
    expect((await stat(path.dirname(a))).mode & 0o777).toBe(0o700);
    await writeFile(a, body);
    await cache.commit(a, digest);
    expect(await exists(a)).toBe(false);
    expect(await cache.read(digest)).toEqual(body);
  });
});

describe("prune", () => {
  /** A cache holding blobs of 100 bytes named by letter, `a` used longest ago; returns their digests. */
  async function filled(maxBytes: number, names: string[]): Promise<[BlobCache, Record<string, string>]> {
    const cache = new BlobCache(root, maxBytes);
    const digests: Record<string, string> = {};
    for (const [i, name] of names.entries()) {
      const body = Buffer.alloc(100, name);
      digests[name] = sha(body);
      await cache.write(digests[name], body);
      await age(cache.pathOf(digests[name]), (names.length - i) * 3600 * 1000);
    }
    return [cache, digests];
  }
  const left = async (cache: BlobCache, digests: Record<string, string>) => {
    const files = new Set(await readdir(path.join(cache.root, "sha256")));
    return Object.keys(digests).filter((name) => files.has(digests[name].slice(7)));
  };

  test.each([
    ["under the bound: nothing", 400, [], { removed: 0, bytes: 0 }, ["a", "b", "c", "d"]],
    ["the oldest until under the bound", 250, [], { removed: 2, bytes: 200 }, ["c", "d"]],
    ["exactly at the bound: enough", 300, [], { removed: 1, bytes: 100 }, ["b", "c", "d"]],
    ["the kept one stays, the next oldest go", 250, ["a"], { removed: 2, bytes: 200 }, ["a", "d"]],
    ["the kept ones stay whatever their size", 0, ["b", "d"], { removed: 2, bytes: 200 }, ["b", "d"]],
    ["a bound of 0: all", 0, [], { removed: 4, bytes: 400 }, []],
  ])("%s", async (_, maxBytes, keep, result, remaining) => {
    const [cache, digests] = await filled(maxBytes, ["a", "b", "c", "d"]);
    expect(await cache.prune(new Set(keep.map((k) => digests[k])))).toEqual(result);
    expect(await left(cache, digests)).toEqual(remaining);
  });

  test("a blob read (or placed) lately is used, not old", async () => {
    const [cache, digests] = await filled(200, ["a", "b", "c", "d"]);
    await cache.read(digests.a);
    await cache.place(digests.b, path.join(root, "archive", "b"));
    expect(await cache.prune(new Set())).toEqual({ removed: 2, bytes: 200 });
    expect(await left(cache, digests)).toEqual(["a", "b"]);
  });

  test("an empty or missing cache: nothing to do", async () => {
    expect(await new BlobCache(path.join(root, "none"), 0).prune(new Set())).toEqual({
      removed: 0,
      bytes: 0,
    });
  });

  test("temporary files older than a day go (a killed download), newer ones stay", async () => {
    const cache = new BlobCache(root, MiB);
    const tmp = path.join(root, "tmp");
    await mkdir(tmp);
    const ages = { "1-old": 2 * DAY_MS, "2-day": DAY_MS + 60_000, "3-hours": 23 * 3600 * 1000, "4-now": 0 };
    for (const [name, ms] of Object.entries(ages)) {
      await writeFile(path.join(tmp, name), "partial");
      await age(path.join(tmp, name), ms);
    }
    expect(await cache.prune(new Set())).toEqual({ removed: 0, bytes: 0 });
    expect((await readdir(tmp)).sort()).toEqual(["3-hours", "4-now"]);
  });
});

describe("linkOrCopy", () => {
  const source = () => path.join(root, "source");
  const dest = () => path.join(root, "a", "b", "dest");
  beforeEach(() => writeFile(source(), "blob"));

  test("a hard link, its directory made", async () => {
    await linkOrCopy(source(), dest());
    const [s, d] = await Promise.all([stat(source()), stat(dest())]);
    expect([d.ino, d.nlink, await readFile(dest(), "utf8")]).toEqual([s.ino, 2, "blob"]);
  });

  test("an existing dest is left alone", async () => {
    await mkdir(path.dirname(dest()), { recursive: true });
    await writeFile(dest(), "other");
    await linkOrCopy(source(), dest());
    expect(await readFile(dest(), "utf8")).toBe("other");
  });

  test.each(["EXDEV", "EPERM"])("link failing with %s: a copy", async (code) => {
    jest.spyOn(fsPromises, "link").mockRejectedValue(Object.assign(new Error(code), { code }));
    await linkOrCopy(source(), dest());
    const [s, d] = await Promise.all([stat(source()), stat(dest())]);
    expect([d.ino === s.ino, d.nlink, await readFile(dest(), "utf8")]).toEqual([false, 1, "blob"]);
  });

  test.each([
    ["a missing source", undefined, "ENOENT"],
    ["another link error", "EACCES", "EACCES"],
  ])("%s fails", async (_, mocked, code) => {
    if (mocked)
      jest.spyOn(fsPromises, "link").mockRejectedValue(Object.assign(new Error(mocked), { code: mocked }));
    else await rm(source());
    await expect(linkOrCopy(source(), dest())).rejects.toMatchObject({ code });
    expect(await exists(dest())).toBe(false);
  });
});
