/**
 * The deployer's side of registry-fed delivery: what a tarball delivery runs instead of `docker pull` and
 * `docker save` when the image is in the stack's registry. Delivery scripts write it out transpiled (see
 * registryScripts.ts) and run, with the pull token as the first line of stdin:
 *
 *   node fetch.js plan <registry/name@sha256:…> <os/arch>
 *     prints `manifest <digest>`, `image <config digest>` and `layers <diff_id>…` of the platform's image
 *   node fetch.js fetch <registry/name@sha256:<manifest>> <skip> <dir>
 *     makes <dir> a `docker load` archive of the image without its first <skip> layers: manifest.json,
 *     the config and the layer blobs as the registry stores them (compressed), fetched only when the
 *     blob cache lacks them, each verified against its digest before it is kept
 *
 * Environment: HCLOUD_DEPLOY_REGISTRY (server), HCLOUD_DEPLOY_REGISTRY_USER, HCLOUD_DEPLOY_REGISTRY_INSECURE
 * (1: plain HTTP), HCLOUD_DEPLOY_SAY (prefix of progress lines), and the cache's (see blobCache.ts).
 * Failures are one line on stderr; exit status 3 means the registry has no such manifest.
 */
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { BlobCache, linkOrCopy } from "./blobCache";
import {
  HttpStatus,
  INDEX_TYPES,
  Manifest,
  MANIFEST_TYPES,
  parseDigestRef,
  RegistryAccess,
  RegistryClient,
  RegistryError,
} from "./client";

export const EXIT_NOT_IN_REGISTRY = 3;
const DOWNLOADS_AT_ONCE = 4;
const PROGRESS_EVERY_MS = 5_000;

export interface FetchContext {
  readonly client: RegistryClient;
  readonly cache: BlobCache;
  readonly server: string;
  /** Writes one progress line. */
  readonly say: (line: string) => void;
}

interface ImageConfig {
  os?: string;
  architecture?: string;
  rootfs?: { diff_ids?: string[] };
}

async function cachedOrFetched(
  ctx: FetchContext,
  digest: string,
  get: () => Promise<Buffer>,
): Promise<Buffer> {
  const cached = await ctx.cache.read(digest);
  if (cached) return cached;
  const bytes = await get();
  await ctx.cache.write(digest, bytes);
  return bytes;
}

async function manifestOf(ctx: FetchContext, digest: string): Promise<Manifest> {
  let fetched: Manifest | undefined;
  const bytes = await cachedOrFetched(ctx, digest, async () => {
    const answer = await ctx.client.manifest(digest);
    fetched = answer.manifest;
    return answer.bytes;
  });
  if (fetched) return fetched;
  // Only the body is cached; a body without its media type (the spec makes it optional) says by its shape.
  const cached = JSON.parse(bytes.toString("utf8")) as Manifest;
  return {
    ...cached,
    mediaType: cached.mediaType ?? (cached.manifests ? INDEX_TYPES[0] : MANIFEST_TYPES[0]),
  };
}

async function configOf(ctx: FetchContext, digest: string): Promise<ImageConfig> {
  const bytes = await cachedOrFetched(ctx, digest, () => ctx.client.blob(digest));
  return JSON.parse(bytes.toString("utf8")) as ImageConfig;
}

/** The image of `platform` that `digest` names (itself, or its entry in an index) and its layers. */
export async function plan(ctx: FetchContext, digest: string, platform: string): Promise<string[]> {
  let manifestDigest = digest;
  let manifest = await manifestOf(ctx, digest);
  if (INDEX_TYPES.includes(manifest.mediaType)) {
    const [os, architecture] = platform.split("/");
    const entry = (manifest.manifests ?? []).find(
      (m) => m.platform?.os === os && m.platform?.architecture === architecture,
    );
    if (!entry) throw new Error(`the index has no image for ${platform}`);
    manifestDigest = entry.digest;
    manifest = await manifestOf(ctx, entry.digest);
  }
  if (!MANIFEST_TYPES.includes(manifest.mediaType) || !manifest.config) {
    throw new Error(`unsupported manifest type ${manifest.mediaType || "(none)"}`);
  }
  const config = await configOf(ctx, manifest.config.digest);
  const offered = `${config.os}/${config.architecture}`;
  if (offered !== platform) throw new Error(`the image is for ${offered}, the hosts run ${platform}`);
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== (manifest.layers ?? []).length) {
    throw new Error(
      `the manifest lists ${(manifest.layers ?? []).length} layers, the config ${diffIds.length}`,
    );
  }
  return [`manifest ${manifestDigest}`, `image ${manifest.config.digest}`, `layers ${diffIds.join(" ")}`];
}

const blobPath = (digest: string) => `blobs/sha256/${digest.slice("sha256:".length)}`;

/** Makes `dir` the archive of the image without its first `skip` layers; returns the summary line. */
export async function fetchArchive(
  ctx: FetchContext,
  digest: string,
  skip: number,
  dir: string,
): Promise<string> {
  const manifest = await manifestOf(ctx, digest);
  const config = manifest.config as { digest: string };
  const layers = manifest.layers ?? [];
  if (!Number.isInteger(skip) || skip < 0 || skip > layers.length) {
    throw new Error(`cannot skip ${skip} of ${layers.length} layers`);
  }
  await mkdir(path.join(dir, "blobs", "sha256"), { recursive: true, mode: 0o700 });
  const archiveManifest = [
    { Config: blobPath(config.digest), RepoTags: null, Layers: layers.map((l) => blobPath(l.digest)) },
  ];
  await writeFile(path.join(dir, "manifest.json"), JSON.stringify(archiveManifest));
  await writeFile(
    path.join(dir, blobPath(config.digest)),
    await cachedOrFetched(ctx, config.digest, () => ctx.client.blob(config.digest)),
  );

  const wanted = [...new Map(layers.slice(skip).map((l) => [l.digest, l])).values()];
  const missing = [];
  let cachedBytes = 0;
  for (const layer of wanted) {
    if (await ctx.cache.place(layer.digest, path.join(dir, blobPath(layer.digest))))
      cachedBytes += layer.size ?? 0;
    else missing.push(layer);
  }
  const total = missing.reduce((sum, l) => sum + (l.size ?? 0), 0);
  let received = 0;
  const mib = (n: number) => (n / 2 ** 20).toFixed(1);
  const progress = setInterval(
    () => ctx.say(`fetching from ${ctx.server}: ${mib(received)} of ${mib(total)} MiB`),
    PROGRESS_EVERY_MS,
  );
  const before = ctx.client.downloadedBytes;
  try {
    const queue = [...missing];
    const worker = async () => {
      for (let layer = queue.shift(); layer; layer = queue.shift()) {
        const file = await ctx.cache.temporary();
        await ctx.client.blobToFile(layer.digest, layer.size, file, (n) => (received += n));
        await linkOrCopy(file, path.join(dir, blobPath(layer.digest)));
        await ctx.cache.commit(file, layer.digest);
      }
    };
    await Promise.all(Array.from({ length: Math.min(DOWNLOADS_AT_ONCE, missing.length) }, worker));
  } finally {
    clearInterval(progress);
  }
  const kept = new Set([digest, config.digest, ...layers.map((l) => l.digest)]);
  await ctx.cache.prune(kept);
  const downloaded = ctx.client.downloadedBytes - before;
  return (
    `fetched ${missing.length} of ${wanted.length} layers from ${ctx.server} (${mib(downloaded)} MiB, ${downloaded} bytes)` +
    (wanted.length > missing.length
      ? `; ${wanted.length - missing.length} (${mib(cachedBytes)} MiB) from the deployer's cache`
      : "")
  );
}

/** Runs one command; returns the exit status. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, token: string): Promise<number> {
  const [command, ref, ...rest] = argv;
  const parsed = parseDigestRef(ref ?? "");
  const server = env.HCLOUD_DEPLOY_REGISTRY ?? "";
  const complete =
    command === "plan" ? rest.length <= 1 : command === "fetch" && /^\d+$/.test(rest[0] ?? "") && !!rest[1];
  if (!parsed || !complete) {
    process.stderr.write(
      `usage: fetch.js plan <registry/name@sha256:…> <os/arch> | fetch <ref> <skip> <dir>\n`,
    );
    return 2;
  }
  const access: RegistryAccess = {
    server,
    username: env.HCLOUD_DEPLOY_REGISTRY_USER ?? "",
    token: token || undefined,
    insecure: env.HCLOUD_DEPLOY_REGISTRY_INSECURE === "1",
  };
  const prefix = env.HCLOUD_DEPLOY_SAY ?? "";
  try {
    const ctx: FetchContext = {
      client: new RegistryClient(parsed.server, parsed.repository, access),
      cache: BlobCache.fromEnv(env),
      server: parsed.server,
      say: (line) => process.stdout.write(`${prefix}${line}\n`),
    };
    const lines =
      command === "plan"
        ? await plan(ctx, parsed.digest, rest[0] ?? "linux/amd64")
        : [`${prefix}${await fetchArchive(ctx, parsed.digest, Number(rest[0]), rest[1])}`];
    process.stdout.write(lines.map((l) => `${l}\n`).join(""));
    return 0;
  } catch (err) {
    const status = err instanceof HttpStatus ? err.status : undefined;
    const message =
      err instanceof RegistryError
        ? err.message
        : new RegistryError(parsed.server, ref, (err as Error).message).message;
    process.stderr.write(`${message.replace(/\s*\n\s*/g, " ")}\n`);
    return command === "plan" && status === 404 ? EXIT_NOT_IN_REGISTRY : 1;
  }
}

if (require.main === module) {
  // The token is the first line of stdin; nothing else comes there.
  const token = readFileSync(0, "utf8").split("\n")[0].trim();
  void main(process.argv.slice(2), process.env, token).then((code) => process.exit(code));
}
