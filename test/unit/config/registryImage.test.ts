// The registry client against a loopback registry (plain HTTP, as loopback registries are): the token
// dances of GHCR (Bearer from a realm) and distribution with htpasswd (Basic), indexes and single images,
// and one-line errors naming the registry, the image and the status.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { readImagePlatforms, RegistryAccess } from "../../../config/registryImage";
import {
  accessTo,
  imageRegistry,
  INDEX,
  Loopback,
  MANIFEST,
  sha,
  startLoopback,
} from "../support/loopbackRegistry";

let loop: Loopback;
beforeAll(async () => {
  loop = await startLoopback();
});
afterAll(() => loop.close());
beforeEach(() => {
  loop.seen.length = 0;
});

const access = (over: Partial<RegistryAccess> = {}): RegistryAccess => accessTo(loop, over);

const registry = (blobs: Record<string, { body: string; type: string }>, auth: "none" | "basic" | "bearer") =>
  imageRegistry(() => loop.host, blobs, auth);

function image(architecture: string) {
  const config = JSON.stringify({ os: "linux", architecture, rootfs: { type: "layers", diff_ids: [] } });
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST,
    config: {
      mediaType: "application/vnd.docker.container.image.v1+json",
      size: config.length,
      digest: sha(config),
    },
    layers: [],
  });
  return {
    digest: sha(manifest),
    blobs: {
      [sha(config)]: { body: config, type: "application/octet-stream" },
      [sha(manifest)]: { body: manifest, type: MANIFEST },
    },
  };
}

const amd64 = image("amd64");
const arm64 = image("arm64");
// As buildx pushes with provenance: an attestation manifest listed as unknown/unknown.
const index = JSON.stringify({
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
      digest: sha("attestation"),
      size: 1,
      platform: { os: "unknown", architecture: "unknown" },
    },
  ],
});
const all = { ...amd64.blobs, ...arm64.blobs, [sha(index)]: { body: index, type: INDEX } };

describe("readImagePlatforms", () => {
  test.each(["none", "basic", "bearer"] as const)(
    "an index, %s auth: one digest ref per platform",
    async (auth) => {
      loop.handler = registry(all, auth);
      const ref = `${loop.host}/o/web@${sha(index)}`;
      expect(await readImagePlatforms(ref, access())).toEqual({
        ref,
        index: true,
        platforms: {
          "linux/amd64": `${loop.host}/o/web@${amd64.digest}`,
          "linux/arm64": `${loop.host}/o/web@${arm64.digest}`,
        },
      });
    },
  );

  test("a single image: its config says the platform; the token is fetched once", async () => {
    loop.handler = registry(all, "bearer");
    const ref = `${loop.host}/o/web@${arm64.digest}`;
    expect(await readImagePlatforms(ref, access())).toEqual({
      ref,
      index: false,
      platforms: { "linux/arm64": ref },
    });
    expect(loop.seen.map((s) => s.url.split("?")[0])).toEqual([
      `/v2/o/web/manifests/${arm64.digest}`,
      "/token",
      `/v2/o/web/manifests/${arm64.digest}`,
      `/v2/o/web/blobs/${JSON.parse(arm64.blobs[arm64.digest].body).config.digest}`,
    ]);
  });

  test("the pull token goes to the stack's registry only", async () => {
    loop.handler = registry(all, "basic");
    const ref = `${loop.host}/o/web@${amd64.digest}`;
    await expect(readImagePlatforms(ref, access({ server: "ghcr.io" }))).rejects.toThrow(
      `registry ${loop.host}: image ${ref}: HTTP 401 (the registry wants credentials it did not get or refused (hcloud-deploy:registryPullToken))`,
    );
    expect(loop.seen.every((s) => s.authorization === undefined)).toBe(true);
  });

  test.each([
    [403, "HTTP 403 (the token may not read this repository)"],
    [404, "HTTP 404 (no such manifest: was it pushed, is the digest right?)"],
    [429, "HTTP 429 (rate limited by the registry; try again later)"],
    [500, "HTTP 500"],
  ])("HTTP %d fails in one line", async (status, problem) => {
    loop.handler = () => ({ status, headers: { "Retry-After": "0" } });
    const ref = `${loop.host}/o/web@${amd64.digest}`;
    await expect(readImagePlatforms(ref, access())).rejects.toThrow(
      `registry ${loop.host}: image ${ref}: ${problem}`,
    );
    // 429 and 5xx are tried three times; the others once.
    expect(loop.seen).toHaveLength(status === 429 || status >= 500 ? 3 : 1);
  });

  test("a 503 that passes is retried", async () => {
    let calls = 0;
    const inner = registry(all, "none");
    loop.handler = (req, res) => (++calls === 1 ? { status: 503 } : inner(req, res));
    const ref = `${loop.host}/o/web@${amd64.digest}`;
    expect((await readImagePlatforms(ref, access())).platforms).toEqual({ "linux/amd64": ref });
  });

  test("a body that does not match its digest is refused", async () => {
    loop.handler = () => ({ status: 200, body: index, headers: { "Content-Type": INDEX } });
    const ref = `${loop.host}/o/web@${amd64.digest}`;
    await expect(readImagePlatforms(ref, access())).rejects.toThrow(
      `registry ${loop.host}: image ${ref}: the registry sent ${sha(index)} for ${amd64.digest}`,
    );
  });

  test("an unreachable registry and a reference without a digest fail in one line", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const ref = `127.0.0.1:${port}/o/web@${amd64.digest}`;
    await expect(readImagePlatforms(ref, access())).rejects.toThrow(
      `registry 127.0.0.1:${port}: image ${ref}: cannot reach http://127.0.0.1:${port}: ECONNREFUSED`,
    );
    await expect(readImagePlatforms("ghcr.io/o/web:latest", access())).rejects.toThrow(
      "registry ?: image ghcr.io/o/web:latest: not a digest-pinned reference (registry/name@sha256:…)",
    );
  });
});
