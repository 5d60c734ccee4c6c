/**
 * Reads which platforms a digest-pinned image offers, straight from its registry's HTTP API (the OCI
 * distribution spec that GHCR, Docker's registry and distribution speak), at preview: an index or a
 * manifest list names one manifest per platform; a single manifest's config says its os/architecture.
 * Only manifests and one small config blob are read, never a layer. The pull token goes only to the
 * stack's own registry; images elsewhere are read anonymously (public images).
 */
import { createHash } from "node:crypto";

/** How to reach the stack's registry. */
export interface RegistryAccess {
  /** Host name with optional port, as in image references. */
  readonly server: string;
  readonly username: string;
  /** Read-only token for `server`; default none (anonymous). */
  readonly token?: string;
  /** Plain HTTP (the local stack's registry). Loopback registries always are. */
  readonly insecure: boolean;
}

/** What an image reference offers: one digest reference per platform it has. */
export interface ImagePlatforms {
  readonly ref: string;
  /** Whether `ref` names an index (manifest list) rather than one image. */
  readonly index: boolean;
  /** Platform (`linux/arm64`, also ones hcloud-deploy never deploys to) → digest reference of its image. */
  readonly platforms: Readonly<Record<string, string>>;
}

export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

const INDEX_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];
const ATTEMPTS = 3;
const TIMEOUT_MS = 15_000;
const RETRY_AFTER_CAP_MS = 5_000;
const REF = /^([a-z0-9.-]+(?::\d+)?)\/([a-z0-9._/-]+)@(sha256:[0-9a-f]{64})$/;
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+)(:\d+)?$/;

const HINTS: Record<number, string> = {
  401: "the registry wants credentials it did not get or refused (hcloud-deploy:registryPullToken)",
  403: "the token may not read this repository",
  404: "no such manifest: was it pushed, is the digest right?",
  429: "rate limited by the registry; try again later",
};

/** One line naming the registry, the image and what went wrong; a token never appears. */
export class RegistryError extends Error {
  constructor(server: string, ref: string, problem: string) {
    super(`registry ${server}: image ${ref}: ${problem}`);
    this.name = "RegistryError";
  }
}

class HttpStatus extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}${HINTS[status] ? ` (${HINTS[status]})` : ""}`);
  }
}

/** The platforms `ref` offers. Throws RegistryError. */
export async function readImagePlatforms(
  ref: string,
  access: RegistryAccess,
  fetchImpl: Fetch = fetch,
): Promise<ImagePlatforms> {
  const match = REF.exec(ref);
  if (!match) throw new RegistryError("?", ref, "not a digest-pinned reference (registry/name@sha256:…)");
  const [, server, repository, digest] = match;
  const client = new RegistryClient(server, repository, access, fetchImpl);
  try {
    const manifest = await client.manifest(digest);
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
    const config = await client.blobJson(manifest.config.digest);
    return { ref, index: false, platforms: { [`${config.os}/${config.architecture}`]: ref } };
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw new RegistryError(server, ref, (err as Error).message);
  }
}

interface Manifest {
  mediaType: string;
  manifests?: { digest: string; platform?: { os: string; architecture: string } }[];
  config?: { digest: string };
}

class RegistryClient {
  private authorization: string | undefined;
  private readonly base: string;

  constructor(
    private readonly server: string,
    private readonly repository: string,
    private readonly access: RegistryAccess,
    private readonly fetchImpl: Fetch,
  ) {
    const plain = LOOPBACK.test(server) || (access.insecure && server === access.server);
    this.base = `${plain ? "http" : "https"}://${server}/v2/${repository}`;
  }

  async manifest(digest: string): Promise<Manifest> {
    const body = await this.get(`${this.base}/manifests/${digest}`, [...INDEX_TYPES, ...MANIFEST_TYPES]);
    checkDigest(body.bytes, digest);
    const parsed = parseJson(body.bytes) as Manifest;
    return { ...parsed, mediaType: parsed.mediaType ?? body.contentType };
  }

  async blobJson(digest: string): Promise<{ os: string; architecture: string }> {
    const body = await this.get(`${this.base}/blobs/${digest}`, ["application/json", "*/*"]);
    checkDigest(body.bytes, digest);
    return parseJson(body.bytes) as { os: string; architecture: string };
  }

  private async get(url: string, accept: string[]): Promise<{ bytes: Buffer; contentType: string }> {
    let response = await this.attempt(url, accept);
    if (response.status === 401 && this.authorization === undefined) {
      this.authorization = await this.authorize(response.headers.get("www-authenticate") ?? "");
      response = await this.attempt(url, accept);
    }
    if (!response.ok) throw new HttpStatus(response.status);
    const contentType = (response.headers.get("content-type") ?? "").split(";")[0].trim();
    return { bytes: Buffer.from(await response.arrayBuffer()), contentType };
  }

  /** One request, retried on network errors, 429 and 5xx; the last answer is returned. */
  private async attempt(url: string, accept: string[]): Promise<Response> {
    let lastError: Error | undefined;
    for (let i = 1; i <= ATTEMPTS; i++) {
      try {
        const headers: Record<string, string> = { Accept: accept.join(", ") };
        if (this.authorization) headers.Authorization = this.authorization;
        // fetch drops Authorization on a redirect to another origin (blob storage), as it should.
        const response = await this.fetchImpl(url, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
        if ((response.status !== 429 && response.status < 500) || i === ATTEMPTS) return response;
        await pause(retryAfterMs(response, i));
      } catch (err) {
        lastError = err as Error;
        if (i === ATTEMPTS) break;
        await pause(250 * i);
      }
    }
    throw new Error(`cannot reach ${new URL(this.base).origin}: ${describe(lastError)}`);
  }

  /** The Authorization header a 401 challenge asks for: Basic directly, or a Bearer token from the realm. */
  private async authorize(challenge: string): Promise<string> {
    const basic = this.basicCredentials();
    if (/^basic/i.test(challenge)) {
      if (!basic) throw new HttpStatus(401);
      return `Basic ${basic}`;
    }
    const params = Object.fromEntries(
      [...challenge.matchAll(/(\w+)="([^"]*)"/g)].map(([, key, value]) => [key.toLowerCase(), value]),
    );
    if (!/^bearer/i.test(challenge) || !params.realm) throw new HttpStatus(401);
    const realm = new URL(params.realm);
    if (params.service) realm.searchParams.set("service", params.service);
    realm.searchParams.set("scope", params.scope ?? `repository:${this.repository}:pull`);
    const response = await this.fetchImpl(realm.toString(), {
      headers: basic ? { Authorization: `Basic ${basic}` } : {},
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (!response.ok) throw new HttpStatus(response.status);
    const answer = (await response.json()) as { token?: string; access_token?: string };
    const token = answer.token ?? answer.access_token;
    if (!token) throw new Error("the token endpoint answered without a token");
    return `Bearer ${token}`;
  }

  private basicCredentials(): string | undefined {
    const { server, username, token } = this.access;
    if (this.server !== server || !token) return undefined;
    return Buffer.from(`${username}:${token}`).toString("base64");
  }
}

function checkDigest(bytes: Buffer, digest: string): void {
  const actual = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  if (actual !== digest) throw new Error(`the registry sent ${actual} for ${digest}`);
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new Error("the registry's answer is not JSON");
  }
}

function retryAfterMs(response: Response, attempt: number): number {
  const seconds = Number(response.headers.get("retry-after"));
  return Number.isFinite(seconds) && seconds > 0
    ? Math.min(seconds * 1000, RETRY_AFTER_CAP_MS)
    : 500 * attempt;
}

function describe(err: Error | undefined): string {
  const cause = (err as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return cause?.code ?? cause?.message ?? err?.message ?? "no answer";
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
