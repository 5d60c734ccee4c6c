/**
 * A small client of the registry HTTP API (the OCI distribution spec that GHCR, Docker's registry and
 * distribution speak): token auth as GHCR (Bearer from a realm) and distribution with htpasswd (Basic) do
 * it, redirects to blob storage, bounded retries, and one-line errors naming the registry, the image and
 * the HTTP status. The preview's preflight imports it; delivery scripts run it on the deployer, transpiled
 * (see registryScripts.ts), so it imports nothing but Node's own modules.
 */
import { createHash } from "node:crypto";
import { open, rm } from "node:fs/promises";

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

export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

export const INDEX_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
];
export const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];
const ATTEMPTS = 3;
const TIMEOUT_MS = 15_000;
/** A blob download may take long; it fails only when no byte arrives for this long. */
const STALL_MS = 60_000;
const RETRY_AFTER_CAP_MS = 5_000;
const REF = /^([a-z0-9.-]+(?::\d+)?|\[[0-9a-f:]+\](?::\d+)?)\/([a-z0-9._/-]+)@(sha256:[0-9a-f]{64})$/;
const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

const HINTS: Record<number, string> = {
  401: "the registry wants credentials it did not get or refused (hcloud-deploy:registryPullToken)",
  403: "the token may not read this repository",
  404: "no such manifest: was it pushed, is the digest right?",
  429: "rate limited by the registry; try again later",
};

/** One line naming the registry, the image and what went wrong; a token never appears. */
export class RegistryError extends Error {
  constructor(
    server: string,
    ref: string,
    problem: string,
    /** The HTTP status that ended it, if one did. */
    readonly status?: number,
  ) {
    super(`registry ${server}: image ${ref}: ${problem}`);
    this.name = "RegistryError";
  }
}

/** An answer other than 2xx. */
export class HttpStatus extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}${HINTS[status] ? ` (${HINTS[status]})` : ""}`);
  }
}

/** Server, repository and digest of `registry/name@sha256:…`, or undefined for any other reference. */
export function parseDigestRef(
  ref: string,
): { server: string; repository: string; digest: string } | undefined {
  const match = REF.exec(ref);
  return match ? { server: match[1], repository: match[2], digest: match[3] } : undefined;
}

export interface Descriptor {
  readonly mediaType?: string;
  readonly digest: string;
  readonly size?: number;
  readonly platform?: { os: string; architecture: string; variant?: string };
}

export interface Manifest {
  mediaType: string;
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

export class RegistryClient {
  /** Bytes of manifest and blob bodies received, whether kept or refused. */
  public downloadedBytes = 0;
  private authorization: string | undefined;
  /** The answer to a challenge being worked out: requests challenged meanwhile wait for it too. */
  private authorizing: Promise<string> | undefined;
  private readonly base: string;

  constructor(
    private readonly server: string,
    private readonly repository: string,
    private readonly access: RegistryAccess,
    private readonly fetchImpl: Fetch = fetch,
  ) {
    const plain = LOOPBACK.test(server) || (access.insecure && server === access.server);
    this.base = `${plain ? "http" : "https"}://${server}/v2/${repository}`;
  }

  /** The manifest (or index) with this digest, checked against it, and its bytes. */
  async manifest(digest: string): Promise<{ manifest: Manifest; bytes: Buffer }> {
    const body = await this.get(`${this.base}/manifests/${digest}`, [...INDEX_TYPES, ...MANIFEST_TYPES]);
    checkDigest(body.bytes, digest);
    const parsed = parseJson(body.bytes) as Manifest;
    return { manifest: { ...parsed, mediaType: parsed.mediaType ?? body.contentType }, bytes: body.bytes };
  }

  /** A small blob (a config), checked against its digest. */
  async blob(digest: string): Promise<Buffer> {
    const body = await this.get(`${this.base}/blobs/${digest}`, ["application/json", "*/*"]);
    checkDigest(body.bytes, digest);
    return body.bytes;
  }

  /**
   * Streams a blob into `file`, hashing as it goes; a blob whose digest or size is not the one asked for
   * is deleted and refused. A broken transfer is tried again from the start, up to the same bound.
   */
  async blobToFile(digest: string, size: number | undefined, file: string, onBytes?: (n: number) => void) {
    for (let i = 1; ; i++) {
      const response = await this.respond(`${this.base}/blobs/${digest}`, ["*/*"], true);
      try {
        await this.save(response, digest, size, file, onBytes);
        return;
      } catch (err) {
        await rm(file, { force: true });
        if (err instanceof BlobRefused || i === ATTEMPTS) throw err;
        await pause(250 * i);
      }
    }
  }

  private async save(
    response: Response,
    digest: string,
    size: number | undefined,
    file: string,
    onBytes?: (n: number) => void,
  ): Promise<void> {
    const hash = createHash("sha256");
    const handle = await open(file, "w", 0o600);
    let received = 0;
    try {
      if (!response.body) throw new Error("the registry sent no body");
      for await (const chunk of stalling(response.body, STALL_MS)) {
        hash.update(chunk);
        received += chunk.length;
        this.downloadedBytes += chunk.length;
        onBytes?.(chunk.length);
        if (size !== undefined && received > size) break;
        await handle.write(chunk);
      }
    } finally {
      await handle.close();
    }
    const actual = `sha256:${hash.digest("hex")}`;
    if (size !== undefined && received !== size) {
      throw new BlobRefused(
        `blob ${digest} is ${size} bytes, the registry sent ${received}${received > size ? "+" : ""}: refused`,
      );
    }
    if (actual !== digest) throw new BlobRefused(`blob ${digest} arrived as ${actual}: refused`);
  }

  private async get(url: string, accept: string[]): Promise<{ bytes: Buffer; contentType: string }> {
    const response = await this.respond(url, accept);
    const contentType = (response.headers.get("content-type") ?? "").split(";")[0].trim();
    const bytes = Buffer.from(await response.arrayBuffer());
    this.downloadedBytes += bytes.length;
    return { bytes, contentType };
  }

  /** A 2xx answer to a GET, after the auth challenge if one came; anything else throws HttpStatus. */
  private async respond(url: string, accept: string[], streaming = false): Promise<Response> {
    const sentWith = this.authorization;
    let response = await this.attempt(url, accept, streaming);
    // Answer the challenge once; a request that raced another one's answer just goes again.
    if (response.status === 401 && (sentWith === undefined || this.authorization !== sentWith)) {
      await response.body?.cancel();
      if (this.authorization === sentWith) {
        this.authorizing ??= this.authorize(response.headers.get("www-authenticate") ?? "").finally(() => {
          this.authorizing = undefined;
        });
        this.authorization = await this.authorizing;
      }
      response = await this.attempt(url, accept, streaming);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new HttpStatus(response.status);
    }
    return response;
  }

  /**
   * One request, retried on network errors, 429 and 5xx; the last answer is returned. The timeout bounds
   * the answer and its body, but a `streaming` body only until the answer came (save watches it for stalls).
   */
  private async attempt(url: string, accept: string[], streaming = false): Promise<Response> {
    let lastError: Error | undefined;
    for (let i = 1; i <= ATTEMPTS; i++) {
      try {
        const headers: Record<string, string> = { Accept: accept.join(", ") };
        if (this.authorization) headers.Authorization = this.authorization;
        // fetch drops Authorization on a redirect to another origin (blob storage), as it should.
        const timeout = AbortSignal.timeout(TIMEOUT_MS);
        const untilAnswered = new AbortController();
        const cut = () => untilAnswered.abort(timeout.reason);
        timeout.addEventListener("abort", cut);
        const response = await this.fetchImpl(url, {
          headers,
          signal: streaming ? untilAnswered.signal : timeout,
        }).finally(() => timeout.removeEventListener("abort", cut));
        if ((response.status !== 429 && response.status < 500) || i === ATTEMPTS) return response;
        await response.body?.cancel();
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

/** A blob that arrived whole but is not the one asked for: trying again would not help. */
export class BlobRefused extends Error {}

/** Chunks of a body; throws when none arrives for `ms` (a fixed timeout would cut large blobs off). */
async function* stalling(body: ReadableStream<Uint8Array>, ms: number): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no data for ${ms / 1000} s`)), ms);
      });
      try {
        const { done, value } = await Promise.race([reader.read(), stalled]);
        if (done) return;
        yield value;
      } finally {
        clearTimeout(timer);
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

function checkDigest(bytes: Buffer, digest: string): void {
  const actual = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  if (actual !== digest) throw new BlobRefused(`the registry sent ${actual} for ${digest}`);
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
