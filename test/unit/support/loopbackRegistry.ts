// A loopback registry for the registry client's tests (config/registryImage, components/registry): plain
// HTTP on 127.0.0.1 (or ::1), a handler the test sets, and every request it saw.
import { createHash } from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { RegistryAccess } from "../../../components/registry/client";

export const sha = (body: string | Buffer) => `sha256:${createHash("sha256").update(body).digest("hex")}`;
export const MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const INDEX = "application/vnd.oci.image.index.v1+json";

export interface Answer {
  status: number;
  body?: string | Buffer;
  headers?: Record<string, string>;
}
/** An answer, undefined for a 404, or "handled" when the handler wrote the response itself. */
export type Handler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
) => Answer | undefined | "handled" | Promise<Answer | undefined | "handled">;

export interface Seen {
  url: string;
  authorization?: string;
  accept?: string;
}

export interface Loopback {
  /** As in image references: `127.0.0.1:<port>` or `[::1]:<port>`. */
  readonly host: string;
  readonly seen: Seen[];
  handler: Handler;
  close(): Promise<void>;
}

export async function startLoopback(address = "127.0.0.1"): Promise<Loopback> {
  const seen: Seen[] = [];
  const loopback = {
    host: "",
    seen,
    handler: (() => undefined) as Handler,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer(async (req, res) => {
    seen.push({ url: req.url ?? "", authorization: req.headers.authorization, accept: req.headers.accept });
    const answer = await loopback.handler(req, res);
    if (answer === "handled") return;
    const { status, headers, body } = answer ?? {
      status: 404,
      body: '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}',
    };
    // No keep-alive: an idle connection would hold jest open after the last test.
    res.writeHead(status, { Connection: "close", ...headers });
    res.end(body ?? "");
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const { port } = server.address() as AddressInfo;
  loopback.host = address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
  return loopback;
}

/** The access the tests give the client: bot with its pull token, for the loopback registry. */
export const accessTo = (loop: Loopback, over: Partial<RegistryAccess> = {}): RegistryAccess => ({
  server: loop.host,
  username: "bot",
  token: "pull-token",
  insecure: false,
  ...over,
});

export const BASIC = `Basic ${Buffer.from("bot:pull-token").toString("base64")}`;
export const BEARER = "Bearer t-registry-repository:o/web:pull";

/**
 * A registry holding `blobs` by digest under /v2/o/web/, behind the given challenge; its token endpoint
 * (/token) wants the Basic credentials of bot:pull-token.
 */
export function imageRegistry(
  host: () => string,
  blobs: Record<string, { body: string | Buffer; type: string }>,
  auth: "none" | "basic" | "bearer",
): Handler {
  return (req): Answer | undefined => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/token") {
      if (req.headers.authorization !== BASIC) return { status: 401 };
      const token = `t-${url.searchParams.get("service")}-${url.searchParams.get("scope")}`;
      return { status: 200, body: JSON.stringify({ token }) };
    }
    const wanted = { none: undefined, basic: BASIC, bearer: BEARER }[auth];
    if (wanted !== undefined && req.headers.authorization !== wanted) {
      const challenge =
        auth === "basic"
          ? 'Basic realm="Registry Realm"'
          : `Bearer realm="http://${host()}/token",service="registry",scope="repository:o/web:pull"`;
      return { status: 401, headers: { "WWW-Authenticate": challenge } };
    }
    const digest = /^\/v2\/o\/web\/(?:manifests|blobs)\/(sha256:[0-9a-f]{64})$/.exec(url.pathname)?.[1];
    const blob = digest ? blobs[digest] : undefined;
    return blob && { status: 200, body: blob.body, headers: { "Content-Type": blob.type } };
  };
}

const STALL_MS = 60_000;

/**
 * Makes the client's pauses (retries, Retry-After) instant and returns their lengths as asked, in order.
 * The stall timer of a blob download (60 s) is not a pause: it runs, `stallMs` long if given. Undone by
 * jest.restoreAllMocks().
 */
export function fastPauses(stallMs?: number): number[] {
  const pauses: number[] = [];
  const real = global.setTimeout;
  jest.spyOn(global, "setTimeout").mockImplementation(((fn: () => void, ms?: number) => {
    if (ms === STALL_MS) return real(fn, stallMs ?? ms);
    pauses.push(ms ?? 0);
    return real(fn, 0);
  }) as typeof setTimeout);
  return pauses;
}
