import { createHash } from "crypto";

/**
 * Images the program's preflight finds "in the registry" under mocks: manifests, indexes and configs with
 * their real digests, answered to fetch for https://<server>/v2/… in this process. Other URLs (the
 * loopback catalog) go to the real fetch.
 */
const blobs = new Map<string, { body: string; type: string }>();
const MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const INDEX = "application/vnd.oci.image.index.v1+json";

function put(repository: string, body: string, type: string): string {
  const digest = `sha256:${createHash("sha256").update(body).digest("hex")}`;
  blobs.set(`${repository}@${digest}`, { body, type });
  return digest;
}

/** Registers an image of these platforms (an index when more than one); returns its digest reference. */
export function fakeImage(repository: string, platforms: readonly string[], salt = ""): string {
  const manifests = platforms.map((platform) => {
    const [os, architecture] = platform.split("/");
    const config = JSON.stringify({ os, architecture, salt });
    const configDigest = put(repository, config, "application/json");
    const body = JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST,
      config: {
        mediaType: "application/vnd.docker.container.image.v1+json",
        size: config.length,
        digest: configDigest,
      },
      layers: [],
    });
    return { digest: put(repository, body, MANIFEST), size: body.length, platform: { os, architecture } };
  });
  if (manifests.length === 1) return `${repository}@${manifests[0].digest}`;
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: INDEX,
    manifests: manifests.map((m) => ({ mediaType: MANIFEST, ...m })),
  });
  return `${repository}@${put(repository, index, INDEX)}`;
}

/** The digest reference of `platform`'s image in the index `ref` (as fakeImage made it). */
export function platformRefOf(ref: string, platform: string): string {
  const [repository] = ref.split("@");
  const index = JSON.parse(blobs.get(ref)?.body ?? "{}") as {
    manifests?: { digest: string; platform: { os: string; architecture: string } }[];
  };
  const entry = index.manifests?.find((m) => `${m.platform.os}/${m.platform.architecture}` === platform);
  if (!entry) throw new Error(`${ref} is not a fake index with ${platform}`);
  return `${repository}@${entry.digest}`;
}

const PATH = /^https:\/\/([^/]+)\/v2\/(.+)\/(?:manifests|blobs)\/(sha256:[0-9a-f]{64})$/;
let installed = false;

export function installFakeRegistry(): void {
  if (installed) return;
  installed = true;
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const match = PATH.exec(String(input));
    if (!match) return realFetch(input, init);
    const [, server, repository, digest] = match;
    const blob = blobs.get(`${server}/${repository}@${digest}`);
    return blob
      ? new Response(blob.body, { status: 200, headers: { "Content-Type": blob.type } })
      : new Response('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', { status: 404 });
  }) as typeof fetch;
}
