/**
 * The deployer's blob cache: registry blobs (layers, configs, manifests) by digest, so that a deployer
 * that fetched a blob once does not fetch it again. Content-addressed, so an entry never goes stale;
 * bounded in size, the least recently used going first. Runs on the deployer inside delivery scripts
 * (see registryScripts.ts), so it imports nothing but Node's own modules.
 */
import { randomBytes } from "node:crypto";
import {
  copyFile,
  link,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  utimes,
  writeFile,
} from "node:fs/promises";
import path from "node:path";

export const DEFAULT_BLOB_CACHE_MIB = 4096;

export class BlobCache {
  constructor(
    readonly root: string,
    readonly maxBytes: number,
  ) {}

  /** Where the cache lives: `$HCLOUD_DEPLOY_CACHE/blobs` (default ~/.cache/hcloud-deploy), bounded by `$HCLOUD_DEPLOY_BLOB_CACHE_MIB`. */
  static fromEnv(env: NodeJS.ProcessEnv): BlobCache {
    const base = env.HCLOUD_DEPLOY_CACHE || path.join(env.HOME || "/root", ".cache", "hcloud-deploy");
    const setting = env.HCLOUD_DEPLOY_BLOB_CACHE_MIB;
    const unset = setting === undefined || setting === "";
    const mib = unset ? DEFAULT_BLOB_CACHE_MIB : Number(setting);
    if (!unset && !/^\s*\d+(\.\d+)?\s*$/.test(setting))
      throw new Error(
        `HCLOUD_DEPLOY_BLOB_CACHE_MIB must be a number of MiB, not ${env.HCLOUD_DEPLOY_BLOB_CACHE_MIB}`,
      );
    return new BlobCache(path.join(base, "blobs"), mib * 2 ** 20);
  }

  pathOf(digest: string): string {
    const [algorithm, hex] = digest.split(":");
    if (algorithm !== "sha256" || !/^[0-9a-f]{64}$/.test(hex ?? ""))
      throw new Error(`not a sha256 digest: ${digest}`);
    return path.join(this.root, "sha256", hex);
  }

  /** The blob's bytes if cached (and marks it used), else undefined. */
  async read(digest: string): Promise<Buffer | undefined> {
    try {
      const bytes = await readFile(this.pathOf(digest));
      await this.touch(digest);
      return bytes;
    } catch {
      return undefined;
    }
  }

  /**
   * Puts a cached blob at `dest` (a hard link, or a copy across file systems) and marks it used; false
   * when it is not cached (or was pruned by another deployer process a moment ago).
   */
  async place(digest: string, dest: string): Promise<boolean> {
    const source = this.pathOf(digest);
    try {
      await this.touch(digest);
      await linkOrCopy(source, dest);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
  }

  /** A private temporary file in the cache, for a download to be `commit`ted once it is verified. */
  async temporary(): Promise<string> {
    const dir = path.join(this.root, "tmp");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return path.join(dir, `${process.pid}-${randomBytes(6).toString("hex")}`);
  }

  /** Moves a verified download into the cache under its digest. */
  async commit(file: string, digest: string): Promise<void> {
    const dest = this.pathOf(digest);
    await mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
    await rename(file, dest);
  }

  async write(digest: string, bytes: Buffer): Promise<void> {
    const file = await this.temporary();
    await writeFile(file, bytes, { mode: 0o600 });
    await this.commit(file, digest);
  }

  /**
   * Deletes the least recently used blobs until the cache fits its bound; `keep` (the image being
   * delivered) stays whatever its size. Stale temporary files (a killed download) go too.
   */
  async prune(keep: ReadonlySet<string>): Promise<{ removed: number; bytes: number }> {
    const dir = path.join(this.root, "sha256");
    const names = await readdir(dir).catch(() => [] as string[]);
    const entries = (
      await Promise.all(
        names.map(async (hex) => {
          const info = await stat(path.join(dir, hex)).catch(() => undefined);
          return info && { digest: `sha256:${hex}`, size: info.size, used: info.mtimeMs };
        }),
      )
    ).filter((e) => e !== undefined);
    let total = entries.reduce((sum, e) => sum + e.size, 0);
    let removed = 0;
    let bytes = 0;
    for (const entry of entries.sort((a, b) => a.used - b.used)) {
      if (total <= this.maxBytes) break;
      if (keep.has(entry.digest)) continue;
      await rm(this.pathOf(entry.digest), { force: true });
      total -= entry.size;
      removed++;
      bytes += entry.size;
    }
    await this.pruneTemporaries();
    return { removed, bytes };
  }

  private async pruneTemporaries(): Promise<void> {
    const dir = path.join(this.root, "tmp");
    const dayAgo = Date.now() - 24 * 3600 * 1000;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const info = await stat(path.join(dir, name)).catch(() => undefined);
      if (info && info.mtimeMs < dayAgo) await rm(path.join(dir, name), { force: true });
    }
  }

  private async touch(digest: string): Promise<void> {
    const now = new Date();
    await utimes(this.pathOf(digest), now, now);
  }
}

export async function linkOrCopy(source: string, dest: string): Promise<void> {
  await mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
  try {
    await link(source, dest);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return;
    if (code !== "EXDEV" && code !== "EPERM") throw err;
    await copyFile(source, dest);
  }
}
