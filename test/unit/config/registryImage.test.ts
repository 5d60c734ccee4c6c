// The registry client against a loopback registry (plain HTTP, as loopback registries are): the token
// dances of GHCR (Bearer from a realm) and distribution with htpasswd (Basic), indexes and single images,
// and one-line errors naming the registry, the image and the status.
import { createHash } from "crypto";
import * as http from "http";
import type { AddressInfo } from "net";
import { readImagePlatforms, RegistryAccess } from "../../../config/registryImage";

const sha = (body: string) => `sha256:${createHash("sha256").update(body).digest("hex")}`;
const MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const INDEX = "application/vnd.oci.image.index.v1+json";

interface Answer {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}
type Handler = (req: http.IncomingMessage) => Answer | undefined;

let server: http.Server;
let host: string;
let handler: Handler;
const seen: { url: string; authorization?: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? "", authorization: req.headers.authorization });
    const answer = handler(req) ?? { status: 404, body: '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}' };
    res.writeHead(answer.status, { Connection: "close", ...answer.headers });
    res.end(answer.body ?? "");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen.length = 0;
});

const access = (over: Partial<RegistryAccess> = {}): RegistryAccess => ({
  server: host,
  username: "bot",
  token: "pull-token",
  insecure: false,
  ...over,
});

/** A registry holding `blobs` by digest under /v2/o/web/, behind the given challenge. */
function registry(
  blobs: Record<string, { body: string; type: string }>,
  auth: "none" | "basic" | "bearer",
): Handler {
  const basic = `Basic ${Buffer.from("bot:pull-token").toString("base64")}`;
  return (req): Answer | undefined => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/token") {
      if (req.headers.authorization !== basic) return { status: 401 };
      const scope = url.searchParams.get("scope");
      return {
        status: 200,
        body: JSON.stringify({ token: `t-${url.searchParams.get("service")}-${scope}` }),
      };
    }
    const wanted = { none: undefined, basic, bearer: "Bearer t-registry-repository:o/web:pull" }[auth];
    if (wanted !== undefined && req.headers.authorization !== wanted) {
      const challenge =
        auth === "basic"
          ? 'Basic realm="Registry Realm"'
          : `Bearer realm="http://${host}/token",service="registry",scope="repository:o/web:pull"`;
      return { status: 401, headers: { "WWW-Authenticate": challenge } };
    }
    const digest = /^\/v2\/o\/web\/(?:manifests|blobs)\/(sha256:[0-9a-f]{64})$/.exec(url.pathname)?.[1];
    const blob = digest ? blobs[digest] : undefined;
    return blob && { status: 200, body: blob.body, headers: { "Content-Type": blob.type } };
  };
}

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
      handler = registry(all, auth);
      const ref = `${host}/o/web@${sha(index)}`;
      expect(await readImagePlatforms(ref, access())).toEqual({
        ref,
        index: true,
        platforms: {
          "linux/amd64": `${host}/o/web@${amd64.digest}`,
          "linux/arm64": `${host}/o/web@${arm64.digest}`,
        },
      });
    },
  );

  test("a single image: its config says the platform; the token is fetched once", async () => {
    handler = registry(all, "bearer");
    const ref = `${host}/o/web@${arm64.digest}`;
    expect(await readImagePlatforms(ref, access())).toEqual({
      ref,
      index: false,
      platforms: { "linux/arm64": ref },
    });
    expect(seen.map((s) => s.url.split("?")[0])).toEqual([
      `/v2/o/web/manifests/${arm64.digest}`,
      "/token",
      `/v2/o/web/manifests/${arm64.digest}`,
      `/v2/o/web/blobs/${JSON.parse(arm64.blobs[arm64.digest].body).config.digest}`,
    ]);
  });

  test("the pull token goes to the stack's registry only", async () => {
    handler = registry(all, "basic");
    const ref = `${host}/o/web@${amd64.digest}`;
    await expect(readImagePlatforms(ref, access({ server: "ghcr.io" }))).rejects.toThrow(
      `registry ${host}: image ${ref}: HTTP 401 (the registry wants credentials it did not get or refused (hcloud-deploy:registryPullToken))`,
    );
    expect(seen.every((s) => s.authorization === undefined)).toBe(true);
  });

  test.each([
    [403, "HTTP 403 (the token may not read this repository)"],
    [404, "HTTP 404 (no such manifest: was it pushed, is the digest right?)"],
    [429, "HTTP 429 (rate limited by the registry; try again later)"],
    [500, "HTTP 500"],
  ])("HTTP %d fails in one line", async (status, problem) => {
    handler = () => ({ status, headers: { "Retry-After": "0" } });
    const ref = `${host}/o/web@${amd64.digest}`;
    await expect(readImagePlatforms(ref, access())).rejects.toThrow(
      `registry ${host}: image ${ref}: ${problem}`,
    );
    // 429 and 5xx are tried three times; the others once.
    expect(seen).toHaveLength(status === 429 || status >= 500 ? 3 : 1);
  });

  test("a 503 that passes is retried", async () => {
    let calls = 0;
    const inner = registry(all, "none");
    handler = (req) => (++calls === 1 ? { status: 503 } : inner(req));
    const ref = `${host}/o/web@${amd64.digest}`;
    expect((await readImagePlatforms(ref, access())).platforms).toEqual({ "linux/amd64": ref });
  });

  test("a body that does not match its digest is refused", async () => {
    handler = () => ({ status: 200, body: index, headers: { "Content-Type": INDEX } });
    const ref = `${host}/o/web@${amd64.digest}`;
    await expect(readImagePlatforms(ref, access())).rejects.toThrow(
      `registry ${host}: image ${ref}: the registry sent ${sha(index)} for ${amd64.digest}`,
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
