import * as http from "http";
import type { AddressInfo } from "net";
import recorded from "../fixtures/hcloudCatalog.json";

/** The recorded answers by path; tests change a copy to make a case. */
export type CatalogAnswers = Record<string, unknown>;

export function recordedCatalog(): CatalogAnswers {
  return structuredClone(recorded) as CatalogAnswers;
}

export interface CatalogServer {
  readonly endpoint: string;
  /** Every request the server answered, path and query as sent. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** Serves recorded catalog answers on loopback, so the program's preflight makes no cloud call. */
export async function serveCatalog(answers: CatalogAnswers = recordedCatalog()): Promise<CatalogServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? "");
    const path = new URL(req.url ?? "/", "http://catalog").pathname.replace(/^\/v1/, "");
    const body = req.headers.authorization?.startsWith("Bearer ") ? answers[path] : undefined;
    // No keep-alive: an idle connection would hold jest open after the last test.
    res.writeHead(body ? 200 : 404, { "Content-Type": "application/json", Connection: "close" });
    res.end(
      JSON.stringify(body ?? { error: { code: "not_found", message: `no recorded answer for ${path}` } }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
