import * as http from "http";
import type { AddressInfo } from "net";
import { fetchCatalog } from "../../../config/catalog";

/** A catalog endpoint that answers every request with one status and body, counting requests per path. */
async function answering(status: number, body: string) {
  const requests: Record<string, number> = {};
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://catalog").pathname;
    requests[path] = (requests[path] ?? 0) + 1;
    res.writeHead(status, { Connection: "close" });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return { endpoint, requests, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe("fetchCatalog's one-line errors", () => {
  test.each([
    // A refused token is not asked again.
    [
      401,
      JSON.stringify({ error: { code: "unauthorized", message: "unable to authenticate" } }),
      1,
      "HTTP 401 unauthorized: unable to authenticate",
    ],
    // A failing API is, three times in all; a body that is not the API's still leaves the status.
    [502, "<html>Bad Gateway</html>", 3, "HTTP 502"],
  ])(
    "HTTP %i: the failing list asked %i time(s), one line naming the endpoint and the status",
    async (status, body, attempts, tail) => {
      const api = await answering(status, body);
      await expect(fetchCatalog({ endpoint: api.endpoint, token: "secret-token" })).rejects.toThrow(
        new RegExp(`^preflight: cannot read Hetzner's catalog at ${api.endpoint}: GET /\\S+: ${tail}$`),
      );
      expect(Math.max(...Object.values(api.requests))).toBe(attempts);
      await api.close();
    },
  );
});
