// The layouts `docker save` writes, for tests of the pack stage: only Docker 20.10 runs here, so the
// OCI layout of Docker >= 25 and the compressed blobs of a containerd image store are made from a
// legacy save by converting it the way those engines lay it out.
import { createHash } from "crypto";
import { mkdirSync, readFileSync, writeFileSync } from "fs";
import path from "path";
import { gzipSync } from "zlib";

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

interface LegacyManifest {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

/**
 * Writes to `out` the OCI layout Docker >= 25 saves (blobs/sha256, index.json, oci-layout and a
 * manifest.json pointing into blobs/), from the legacy save unpacked in `legacy`. With `compress`, the
 * layer blobs are gzip-compressed as a containerd image store keeps them. Returns the new manifest.
 */
export function convertSave(legacy: string, out: string, compress: boolean): LegacyManifest {
  const [manifest] = JSON.parse(readFileSync(path.join(legacy, "manifest.json"), "utf8")) as LegacyManifest[];
  const blobs = path.join(out, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer | string) => {
    const digest = sha256(data);
    writeFileSync(path.join(blobs, digest), data);
    return { digest: `sha256:${digest}`, size: Buffer.byteLength(data), path: `blobs/sha256/${digest}` };
  };
  const config = put(readFileSync(path.join(legacy, manifest.Config)));
  // readFileSync follows the symlinks the legacy layout uses for a layer that occurs twice.
  const layers = manifest.Layers.map((layer) => {
    const tar = readFileSync(path.join(legacy, layer));
    return put(compress ? gzipSync(tar) : tar);
  });
  const layerType = `application/vnd.oci.image.layer.v1.tar${compress ? "+gzip" : ""}`;
  const image = put(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: config.digest,
        size: config.size,
      },
      layers: layers.map((l) => ({ mediaType: layerType, digest: l.digest, size: l.size })),
    }),
  );
  writeFileSync(
    path.join(out, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: image.digest, size: image.size },
      ],
    }),
  );
  writeFileSync(path.join(out, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const converted = { Config: config.path, RepoTags: manifest.RepoTags, Layers: layers.map((l) => l.path) };
  writeFileSync(path.join(out, "manifest.json"), JSON.stringify([converted]));
  return converted;
}
