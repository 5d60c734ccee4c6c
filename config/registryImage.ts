/**
 * Reads which platforms a digest-pinned image offers, straight from its registry's HTTP API (the OCI
 * distribution spec that GHCR, Docker's registry and distribution speak), at preview: an index or a
 * manifest list names one manifest per platform; a single manifest's config says its os/architecture.
 * Only manifests and one small config blob are read, never a layer. The pull token goes only to the
 * stack's own registry; images elsewhere are read anonymously (public images).
 */
import {
  Fetch,
  INDEX_TYPES,
  MANIFEST_TYPES,
  parseDigestRef,
  RegistryAccess,
  RegistryClient,
  RegistryError,
} from "../components/registry/client";

export type { Fetch, RegistryAccess } from "../components/registry/client";
export { RegistryError } from "../components/registry/client";

/** What an image reference offers: one digest reference per platform it has. */
export interface ImagePlatforms {
  readonly ref: string;
  /** Whether `ref` names an index (manifest list) rather than one image. */
  readonly index: boolean;
  /** Platform (`linux/arm64`, also ones hcloud-deploy never deploys to) → digest reference of its image. */
  readonly platforms: Readonly<Record<string, string>>;
}

/** The platforms `ref` offers. Throws RegistryError. */
export async function readImagePlatforms(
  ref: string,
  access: RegistryAccess,
  fetchImpl: Fetch = fetch,
): Promise<ImagePlatforms> {
  const parsed = parseDigestRef(ref);
  if (!parsed) throw new RegistryError("?", ref, "not a digest-pinned reference (registry/name@sha256:…)");
  const { server, repository, digest } = parsed;
  const client = new RegistryClient(server, repository, access, fetchImpl);
  try {
    const { manifest } = await client.manifest(digest);
    if (INDEX_TYPES.includes(manifest.mediaType)) {
      const platforms: Record<string, string> = {};
      for (const entry of manifest.manifests ?? []) {
        const p = entry.platform;
        // Attestations (buildx provenance) are listed as unknown/unknown.
        if (!p || p.os === "unknown") continue;
        platforms[`${p.os}/${p.architecture}`] ??= `${server}/${repository}@${entry.digest}`;
      }
      return { ref, index: true, platforms };
    }
    if (!MANIFEST_TYPES.includes(manifest.mediaType) || !manifest.config?.digest) {
      throw new Error(`unsupported manifest type ${manifest.mediaType || "(none)"}`);
    }
    const config = JSON.parse((await client.blob(manifest.config.digest)).toString("utf8"));
    return { ref, index: false, platforms: { [`${config.os}/${config.architecture}`]: ref } };
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw new RegistryError(server, ref, (err as Error).message);
  }
}
