// The registry client against a loopback registry (plain HTTP, as loopback registries are): manifests and
// blobs checked against their digests, blobs streamed to files with their size checked too, Basic and
// Bearer challenges (also met by several requests at once), and bounded retries. The retries' pauses are
// made instant and recorded (fastPauses), or the client gets a scripted fetch, so no test waits them out.
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  BlobRefused,
  Fetch,
  HttpStatus,
  parseDigestRef,
  RegistryAccess,
  RegistryClient,
} from "../../../components/registry/client";
import {
  accessTo,
  Answer,
  BASIC,
  fastPauses,
  INDEX,
  Loopback,
  MANIFEST,
  sha,
  startLoopback,
} from "../support/loopbackRegistry";

const HEX = "0123456789abcdef".repeat(4);
const DIGEST = `sha256:${HEX}`;
const NOT_JSON = "<html>not a manifest</html>";
const manifestBody = JSON.stringify({
  schemaVersion: 2,
  mediaType: MANIFEST,
  config: { mediaType: "application/vnd.docker.container.image.v1+json", size: 2, digest: sha("{}") },
  layers: [],
});
const layer = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let loop: Loopback;
let dir: string;

beforeAll(async () => {
  loop = await startLoopback();
  dir = await mkdtemp(path.join(os.tmpdir(), "hcd-registry-client-"));
});
afterAll(async () => {
  await loop.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  loop.seen.length = 0;
  loop.handler = () => undefined;
});
afterEach(() => jest.restoreAllMocks());

const access = (over: Partial<RegistryAccess> = {}): RegistryAccess => accessTo(loop, over);
const client = (over: Partial<RegistryAccess> = {}) => new RegistryClient(loop.host, "o/web", access(over));
const paths = () => loop.seen.map((s) => s.url.split("?")[0]);
const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );

describe("parseDigestRef", () => {
  test.each([
    [`ghcr.io/o/web@${DIGEST}`, { server: "ghcr.io", repository: "o/web", digest: DIGEST }],
    [`127.0.0.1:5000/a/b/c@${DIGEST}`, { server: "127.0.0.1:5000", repository: "a/b/c", digest: DIGEST }],
    [`localhost/web@${DIGEST}`, { server: "localhost", repository: "web", digest: DIGEST }],
    [`[::1]:5000/o/web@${DIGEST}`, { server: "[::1]:5000", repository: "o/web", digest: DIGEST }],
    [`[fd00::1]/o/my_app.v2@${DIGEST}`, { server: "[fd00::1]", repository: "o/my_app.v2", digest: DIGEST }],
  ])("%s", (ref, parsed) => {
    expect(parseDigestRef(ref)).toEqual(parsed);
  });

  test.each([
    ["a tag", "ghcr.io/o/web:latest"],
    ["a tag and a digest", `ghcr.io/o/web:1.0@${DIGEST}`],
    ["no repository", `ghcr.io@${DIGEST}`],
    ["a short digest", "ghcr.io/o/web@sha256:0123"],
    ["upper-case hex", `ghcr.io/o/web@sha256:${HEX.toUpperCase()}`],
    ["another algorithm", `ghcr.io/o/web@sha512:${HEX}`],
    ["an unbracketed IPv6 host", `::1/o/web@${DIGEST}`],
    ["an unclosed bracket", `[::1:5000/o/web@${DIGEST}`],
    ["an upper-case host", `GHCR.io/o/web@${DIGEST}`],
    ["the empty string", ""],
  ])("%s: undefined", (_, ref) => {
    expect(parseDigestRef(ref)).toBeUndefined();
  });
});

describe("plain HTTP or HTTPS", () => {
  test.each([
    ["localhost:5000", "ghcr.io", false, "http://localhost:5000"],
    ["127.1.2.3", "ghcr.io", false, "http://127.1.2.3"],
    ["[::1]:5000", "ghcr.io", false, "http://[::1]:5000"],
    ["registry.lan:5000", "registry.lan:5000", true, "http://registry.lan:5000"],
    // Insecure is said of the stack's registry only.
    ["registry.lan:5000", "ghcr.io", true, "https://registry.lan:5000"],
    ["registry.lan:5000", "registry.lan:5000", false, "https://registry.lan:5000"],
    ["localhost.example.com", "ghcr.io", false, "https://localhost.example.com"],
    ["[fd00::1]:5000", "ghcr.io", false, "https://[fd00::1]:5000"],
  ])("%s (stack's registry %s, insecure %s): %s", async (server, stackServer, insecure, origin) => {
    const urls: string[] = [];
    const fake: Fetch = async (url) => {
      urls.push(url);
      return new Response(manifestBody, { headers: { "Content-Type": MANIFEST } });
    };
    const access = { server: stackServer, username: "bot", insecure };
    await new RegistryClient(server, "o/web", access, fake).manifest(sha(manifestBody));
    expect(urls).toEqual([`${origin}/v2/o/web/manifests/${sha(manifestBody)}`]);
  });
});

describe("manifest and blob", () => {
  test("a manifest: parsed, its bytes, the media types accepted; a blob; the bytes counted", async () => {
    loop.handler = (req) =>
      req.url?.includes("/manifests/")
        ? { status: 200, body: manifestBody, headers: { "Content-Type": MANIFEST } }
        : { status: 200, body: "{}", headers: { "Content-Type": "application/octet-stream" } };
    const c = client();
    const { manifest, bytes } = await c.manifest(sha(manifestBody));
    expect(manifest).toEqual(JSON.parse(manifestBody));
    expect(bytes.toString()).toBe(manifestBody);
    expect((await c.blob(sha("{}"))).toString()).toBe("{}");
    expect(c.downloadedBytes).toBe(manifestBody.length + 2);
    expect(loop.seen.map(({ url, accept }) => [url, accept])).toEqual([
      [
        `/v2/o/web/manifests/${sha(manifestBody)}`,
        "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, " +
          "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
      ],
      [`/v2/o/web/blobs/${sha("{}")}`, "application/json, */*"],
    ]);
  });

  test("a manifest without a mediaType has its Content-Type's", async () => {
    const body = JSON.stringify({ schemaVersion: 2, manifests: [] });
    loop.handler = () => ({ status: 200, body, headers: { "Content-Type": `${INDEX}; charset=utf-8` } });
    expect((await client().manifest(sha(body))).manifest).toEqual({
      schemaVersion: 2,
      manifests: [],
      mediaType: INDEX,
    });
  });

  test.each([
    ["manifest", manifestBody, sha("{}"), `the registry sent ${sha(manifestBody)} for ${sha("{}")}`],
    // The digest is right, the body no manifest.
    ["manifest", NOT_JSON, sha(NOT_JSON), "the registry's answer is not JSON"],
    ["blob", manifestBody, sha("{}"), `the registry sent ${sha(manifestBody)} for ${sha("{}")}`],
  ] as const)("a %s that is not the one asked for is refused", async (kind, body, digest, problem) => {
    loop.handler = () => ({ status: 200, body, headers: { "Content-Type": MANIFEST } });
    const c = client();
    await expect(kind === "manifest" ? c.manifest(digest) : c.blob(digest)).rejects.toThrow(problem);
    expect(loop.seen).toHaveLength(1);
    expect(c.downloadedBytes).toBe(body.length);
  });
});

describe("blobToFile", () => {
  const file = () => path.join(dir, "blob");
  afterEach(() => rm(file(), { force: true }));

  test("streams the blob into the file (mode 0600), counting its bytes", async () => {
    loop.handler = () => ({ status: 200, body: layer });
    const c = client();
    const counted: number[] = [];
    await c.blobToFile(sha(layer), layer.length, file(), (n) => counted.push(n));
    expect(await readFile(file())).toEqual(layer);
    expect((await stat(file())).mode & 0o777).toBe(0o600);
    expect(counted.reduce((a, b) => a + b, 0)).toBe(layer.length);
    expect(c.downloadedBytes).toBe(layer.length);
    expect(loop.seen.map((s) => [s.url, s.accept])).toEqual([[`/v2/o/web/blobs/${sha(layer)}`, "*/*"]]);
  });

  test("without a size, the digest alone is checked", async () => {
    loop.handler = () => ({ status: 200, body: layer });
    await client().blobToFile(sha(layer), undefined, file());
    expect(await readFile(file())).toEqual(layer);
  });

  const other = Buffer.from("hello world");
  test.each([
    [
      "another blob of the size",
      other,
      sha(layer),
      other.length,
      `blob ${sha(layer)} arrived as ${sha(other)}`,
    ],
    ["a shorter one", other, sha(other), 20, `blob ${sha(other)} is 20 bytes, the registry sent 11`],
    ["a longer one", other, sha(other), 5, `blob ${sha(other)} is 5 bytes, the registry sent 11+`],
    ["a wrong one, no size", other, sha(layer), undefined, `blob ${sha(layer)} arrived as ${sha(other)}`],
  ])("%s is deleted and refused, not tried again", async (_, body, digest, size, problem) => {
    loop.handler = () => ({ status: 200, body });
    const refusal = client().blobToFile(digest, size, file());
    await expect(refusal).rejects.toThrow(`${problem}: refused`);
    await expect(refusal).rejects.toBeInstanceOf(BlobRefused);
    expect(await exists(file())).toBe(false);
    expect(loop.seen).toHaveLength(1);
  });

  test("a status other than 2xx is not streamed: HTTP 404, once", async () => {
    const answer = client().blobToFile(sha(layer), layer.length, file());
    await expect(answer).rejects.toThrow("HTTP 404 (no such manifest: was it pushed, is the digest right?)");
    await expect(answer).rejects.toBeInstanceOf(HttpStatus);
    expect(await exists(file())).toBe(false);
    expect(loop.seen).toHaveLength(1);
  });

  /** Sends the headers and the first 1000 bytes of `layer`, then closes the connection or, if `hang`, nothing more. */
  const cutOff =
    (hang = false) =>
    (_: unknown, res: import("node:http").ServerResponse) => {
      res.writeHead(200, { "Content-Length": String(layer.length), Connection: "close" });
      res.write(layer.subarray(0, 1000), () => (hang ? undefined : res.destroy()));
      return "handled" as const;
    };

  test("a transfer cut off is tried again from the start", async () => {
    const pauses = fastPauses();
    let calls = 0;
    loop.handler = (req, res) => (++calls === 1 ? cutOff()(req, res) : { status: 200, body: layer });
    await client().blobToFile(sha(layer), layer.length, file());
    expect(await readFile(file())).toEqual(layer);
    expect(loop.seen).toHaveLength(2);
    expect(pauses).toEqual([250]);
  });

  test("a transfer that stalls is given up and tried again", async () => {
    const pauses = fastPauses(100);
    let calls = 0;
    loop.handler = (req, res) => (++calls === 1 ? cutOff(true)(req, res) : { status: 200, body: layer });
    await client().blobToFile(sha(layer), layer.length, file());
    expect(await readFile(file())).toEqual(layer);
    expect(loop.seen).toHaveLength(2);
    expect(pauses).toEqual([250]);
  });

  test("a transfer that stalls three times fails, leaving no file", async () => {
    const pauses = fastPauses(100);
    loop.handler = cutOff(true);
    await expect(client().blobToFile(sha(layer), layer.length, file())).rejects.toThrow("no data for 60 s");
    expect(await exists(file())).toBe(false);
    expect(loop.seen).toHaveLength(3);
    expect(pauses).toEqual([250, 500]);
  });

  test("a transfer that outlasts the request timeout but never stalls goes through", async () => {
    // The request timeout (15 s) made 300 ms; the blob takes about 800 ms, a chunk every 100 ms.
    const timeout = AbortSignal.timeout.bind(AbortSignal);
    jest.spyOn(AbortSignal, "timeout").mockImplementation(() => timeout(300));
    loop.handler = (_, res) => {
      res.writeHead(200, { "Content-Length": String(layer.length), Connection: "close" });
      void (async () => {
        for (let at = 0; at < layer.length; at += 375) {
          await delay(100);
          if (res.destroyed) return;
          res.write(layer.subarray(at, at + 375));
        }
        res.end();
      })();
      return "handled";
    };
    await client().blobToFile(sha(layer), layer.length, file());
    expect(await readFile(file())).toEqual(layer);
    expect(loop.seen).toHaveLength(1);
  });

  test("a redirect to blob storage: the registry's Authorization does not follow it", async () => {
    const storage = await startLoopback();
    try {
      storage.handler = () => ({ status: 200, body: layer });
      loop.handler = (req): Answer =>
        req.headers.authorization !== BASIC
          ? { status: 401, headers: { "WWW-Authenticate": 'Basic realm="Registry Realm"' } }
          : { status: 307, headers: { Location: `http://${storage.host}/bucket/layer?sig=1` } };
      await client().blobToFile(sha(layer), layer.length, file());
      expect(await readFile(file())).toEqual(layer);
      expect(loop.seen.map((s) => s.authorization)).toEqual([undefined, BASIC]);
      expect(storage.seen).toEqual([{ url: "/bucket/layer?sig=1", authorization: undefined, accept: "*/*" }]);
    } finally {
      await storage.close();
    }
  });
});

describe("the request timeout (15 s, made 200 ms)", () => {
  beforeEach(() => {
    const timeout = AbortSignal.timeout.bind(AbortSignal);
    jest.spyOn(AbortSignal, "timeout").mockImplementation(() => timeout(200));
  });
  const TIMED_OUT = "The operation was aborted due to timeout";

  test.each(["manifest", "blobToFile"] as const)("a registry that never answers: %s fails", async (kind) => {
    const pauses = fastPauses();
    loop.handler = () => "handled";
    const c = client();
    const file = path.join(dir, "never");
    await expect(
      kind === "manifest" ? c.manifest(sha(manifestBody)) : c.blobToFile(sha(layer), layer.length, file),
    ).rejects.toThrow(`cannot reach http://${loop.host}: ${TIMED_OUT}`);
    expect(loop.seen).toHaveLength(3);
    expect(pauses).toEqual([250, 500]);
  });

  test("a manifest whose body never ends fails", async () => {
    loop.handler = (_, res) => {
      res.writeHead(200, { "Content-Type": MANIFEST, "Content-Length": "1000", Connection: "close" });
      res.write(manifestBody.slice(0, 10));
      return "handled";
    };
    await expect(client().manifest(sha(manifestBody))).rejects.toThrow(TIMED_OUT);
    expect(loop.seen).toHaveLength(1);
  });
});

describe("auth", () => {
  const blob = () => ({ status: 200, body: "{}", headers: { "Content-Type": "application/json" } });

  test("Basic: the challenge answered once, the credentials sent from then on", async () => {
    loop.handler = (req) =>
      req.headers.authorization === BASIC
        ? blob()
        : { status: 401, headers: { "WWW-Authenticate": 'Basic realm="Registry Realm"' } };
    const c = client();
    expect((await c.blob(sha("{}"))).toString()).toBe("{}");
    expect((await c.blob(sha("{}"))).toString()).toBe("{}");
    expect(loop.seen.map((s) => s.authorization)).toEqual([undefined, BASIC, BASIC]);
  });

  test.each([
    [
      "token",
      'Bearer realm="REALM",service="registry",scope="repository:o/web:pull"',
      "registry",
      "repository:o/web:pull",
    ],
    [
      "access_token",
      'Bearer realm="REALM",service="registry",scope="repository:o/web:pull"',
      "registry",
      "repository:o/web:pull",
    ],
    // Without a scope the client asks to pull its repository; service stays out when not named.
    ["token", 'bearer realm="REALM"', null, "repository:o/web:pull"],
  ])("Bearer: a %s from the realm of %s", async (field, challenge, service, scope) => {
    loop.handler = (req) => {
      if (req.url?.startsWith("/token")) return { status: 200, body: JSON.stringify({ [field]: "tok" }) };
      if (req.headers.authorization === "Bearer tok") return blob();
      const realm = `http://${loop.host}/token`;
      return { status: 401, headers: { "WWW-Authenticate": challenge.replace("REALM", realm) } };
    };
    const c = client();
    expect((await c.blob(sha("{}"))).toString()).toBe("{}");
    expect((await c.blob(sha("{}"))).toString()).toBe("{}");
    const token = new URL(loop.seen[1].url, "http://x");
    expect([token.pathname, token.searchParams.get("service"), token.searchParams.get("scope")]).toEqual([
      "/token",
      service,
      scope,
    ]);
    expect(loop.seen.map((s) => s.authorization)).toEqual([undefined, BASIC, "Bearer tok", "Bearer tok"]);
  });

  test.each([
    ["no token", { token: undefined }],
    ["a token for another registry", { server: "ghcr.io" }],
  ])("Bearer with %s: the token is asked for anonymously", async (_, over) => {
    loop.handler = (req) => {
      if (req.url?.startsWith("/token")) return { status: 200, body: JSON.stringify({ token: "anon" }) };
      if (req.headers.authorization === "Bearer anon") return blob();
      return { status: 401, headers: { "WWW-Authenticate": `Bearer realm="http://${loop.host}/token"` } };
    };
    expect((await client(over).blob(sha("{}"))).toString()).toBe("{}");
    expect(loop.seen.map((s) => [s.url.split("?")[0], s.authorization])).toEqual([
      [`/v2/o/web/blobs/${sha("{}")}`, undefined],
      ["/token", undefined],
      [`/v2/o/web/blobs/${sha("{}")}`, "Bearer anon"],
    ]);
  });

  const HTTP_401 =
    "HTTP 401 (the registry wants credentials it did not get or refused (hcloud-deploy:registryPullToken))";
  test.each([
    ["Basic without a token", 'Basic realm="R"', { token: undefined }, undefined, HTTP_401, 1],
    ["Basic with another registry's token", 'Basic realm="R"', { server: "ghcr.io" }, undefined, HTTP_401, 1],
    ["an unknown scheme", 'Negotiate realm="REALM"', {}, undefined, HTTP_401, 1],
    ["Bearer without a realm", 'Bearer service="registry"', {}, undefined, HTTP_401, 1],
    ["no challenge at all", "", {}, undefined, HTTP_401, 1],
    [
      "a token endpoint that refuses",
      'Bearer realm="REALM"',
      {},
      { status: 403 },
      "HTTP 403 (the token may not read this repository)",
      2,
    ],
    [
      "a token endpoint without a token",
      'Bearer realm="REALM"',
      {},
      { status: 200, body: '{"expires_in":300}' },
      "the token endpoint answered without a token",
      2,
    ],
  ])("%s fails", async (_, challenge, over, tokenAnswer, problem, requests) => {
    loop.handler = (req): Answer | undefined =>
      req.url?.startsWith("/token")
        ? tokenAnswer
        : {
            status: 401,
            headers: challenge
              ? { "WWW-Authenticate": challenge.replace("REALM", `http://${loop.host}/token`) }
              : {},
          };
    await expect(client(over).manifest(DIGEST)).rejects.toThrow(problem);
    expect(loop.seen).toHaveLength(requests);
  });

  test("credentials refused after the challenge: HTTP 401, the challenge not answered again", async () => {
    loop.handler = (req) =>
      req.url?.startsWith("/token")
        ? { status: 200, body: '{"token":"stale"}' }
        : { status: 401, headers: { "WWW-Authenticate": `Bearer realm="http://${loop.host}/token"` } };
    const answer = client().manifest(DIGEST);
    await expect(answer).rejects.toThrow(HTTP_401);
    await expect(answer).rejects.toMatchObject({ status: 401 });
    expect(paths()).toEqual([`/v2/o/web/manifests/${DIGEST}`, "/token", `/v2/o/web/manifests/${DIGEST}`]);
  });

  const bodies = ["a", "b", "c"];
  /** Blobs a, b and c behind a Bearer challenge; the token endpoint takes 50 ms and counts its requests. */
  function raced(hold: (req: import("node:http").IncomingMessage) => Promise<void>) {
    const counts = { tokens: 0 };
    loop.handler = async (req) => {
      if (req.url?.startsWith("/token")) {
        counts.tokens++;
        await delay(50);
        return { status: 200, body: '{"token":"t"}' };
      }
      if (req.headers.authorization !== "Bearer t") {
        await hold(req);
        return { status: 401, headers: { "WWW-Authenticate": `Bearer realm="http://${loop.host}/token"` } };
      }
      return { status: 200, body: bodies.find((b) => req.url?.endsWith(sha(b))) };
    };
    return counts;
  }

  test("several requests meet the challenge at once: one token, all of them answered", async () => {
    const held: (() => void)[] = [];
    // The challenges go out together once all three requests have come.
    const counts = raced(
      () =>
        new Promise<void>((resolve) => {
          held.push(resolve);
          if (held.length === bodies.length) held.forEach((release) => release());
        }),
    );
    const c = client();
    const blobs = await Promise.all(bodies.map((b) => c.blob(sha(b))));
    expect(blobs.map(String)).toEqual(bodies);
    expect(counts.tokens).toBe(1);
    expect(loop.seen.map((s) => s.authorization ?? "none").sort()).toEqual([
      BASIC,
      "Bearer t",
      "Bearer t",
      "Bearer t",
      "none",
      "none",
      "none",
    ]);
  });

  test("a request challenged after another one's answer goes again with its token", async () => {
    let first = true;
    let answered: () => void = () => undefined;
    const authorized = new Promise<void>((resolve) => (answered = resolve));
    const counts = raced(async () => {
      if (first) first = false;
      // The second challenge only once the first request came back with the token.
      else await authorized;
    });
    const inner = loop.handler;
    loop.handler = (req, res) => {
      if (req.headers.authorization === "Bearer t") answered();
      return inner(req, res);
    };
    const c = client();
    const blobs = await Promise.all(bodies.slice(0, 2).map((b) => c.blob(sha(b))));
    expect(blobs.map(String)).toEqual(["a", "b"]);
    expect(counts.tokens).toBe(1);
    expect(loop.seen.map((s) => s.authorization ?? "none").sort()).toEqual([
      BASIC,
      "Bearer t",
      "Bearer t",
      "none",
      "none",
    ]);
  });
});

describe("retries", () => {
  type Step = number | [number, string] | Error;
  /** A fetch that answers with `steps` in turn: a status, a status and its Retry-After, or a network error. */
  function scripted(steps: Step[]): { fetch: Fetch; calls: () => number } {
    let calls = 0;
    const fetch: Fetch = async () => {
      const step = steps[calls++];
      if (step instanceof Error) throw step;
      const [status, retryAfter] = typeof step === "number" ? [step] : step;
      const headers: Record<string, string> = { "Content-Type": MANIFEST };
      if (retryAfter !== undefined) headers["Retry-After"] = retryAfter;
      return new Response(status === 200 ? manifestBody : "busy", { status, headers });
    };
    return { fetch, calls: () => calls };
  }
  const run = (steps: Step[]) => {
    const pauses = fastPauses();
    const { fetch, calls } = scripted(steps);
    const c = new RegistryClient(
      "ghcr.io",
      "o/web",
      { server: "ghcr.io", username: "bot", insecure: false },
      fetch,
    );
    return { answer: c.manifest(sha(manifestBody)), pauses, calls };
  };
  const refused = (code: string) => Object.assign(new TypeError("fetch failed"), { cause: { code } });

  test.each<[string, Step[], number[]]>([
    ["a 503", [503, 200], [500]],
    ["a 429 with Retry-After, then one without", [[429, "2"], 429, 200], [2000, 1000]],
    ["a Retry-After past the cap", [[503, "3600"], 200], [5000]],
    ["a Retry-After that is no number of seconds", [[503, "Wed, 21 Oct 2015 07:28:00 GMT"], 200], [500]],
    ["two network errors", [refused("ECONNRESET"), refused("ECONNRESET"), 200], [250, 500]],
  ])("%s, then the manifest", async (_, steps, expected) => {
    const { answer, pauses, calls } = run(steps);
    expect((await answer).bytes.toString()).toBe(manifestBody);
    expect(pauses).toEqual(expected);
    expect(calls()).toBe(steps.length);
  });

  test.each<[string, Step[], string, number[]]>([
    ["HTTP 500 three times", [500, 500, 500], "HTTP 500", [500, 1000]],
    [
      "HTTP 429 three times",
      [429, 429, 429],
      "HTTP 429 (rate limited by the registry; try again later)",
      [500, 1000],
    ],
    ["HTTP 404", [404], "HTTP 404 (no such manifest: was it pushed, is the digest right?)", []],
    ["HTTP 403", [403], "HTTP 403 (the token may not read this repository)", []],
    [
      "three network errors",
      [refused("ECONNREFUSED"), refused("ECONNREFUSED"), refused("ECONNREFUSED")],
      "cannot reach https://ghcr.io: ECONNREFUSED",
      [250, 500],
    ],
    [
      "errors without a code",
      [
        new Error("a"),
        new TypeError("fetch failed", { cause: new Error("other side closed") }),
        new TypeError("fetch failed", { cause: new Error("other side closed") }),
      ],
      "cannot reach https://ghcr.io: other side closed",
      [250, 500],
    ],
    [
      "an error without a cause",
      [new Error("a"), new Error("b"), new Error("socket hang up")],
      "cannot reach https://ghcr.io: socket hang up",
      [250, 500],
    ],
  ])("%s fails", async (_, steps, problem, expected) => {
    const { answer, pauses, calls } = run(steps);
    await expect(answer).rejects.toThrow(problem);
    expect(pauses).toEqual(expected);
    expect(calls()).toBe(steps.length);
  });
});

describe("over IPv6 loopback", () => {
  test("a bracketed host is reached over plain HTTP", async () => {
    const v6 = await startLoopback("::1");
    try {
      v6.handler = () => ({ status: 200, body: manifestBody, headers: { "Content-Type": MANIFEST } });
      const parsed = parseDigestRef(`${v6.host}/o/web@${sha(manifestBody)}`);
      expect(parsed).toEqual({ server: v6.host, repository: "o/web", digest: sha(manifestBody) });
      const c = new RegistryClient(v6.host, "o/web", access({ server: "ghcr.io" }));
      expect((await c.manifest(sha(manifestBody))).manifest.mediaType).toBe(MANIFEST);
      expect(v6.seen.map((s) => s.url)).toEqual([`/v2/o/web/manifests/${sha(manifestBody)}`]);
    } finally {
      await v6.close();
    }
  });
});
