import { createServer, IncomingMessage, request, Server, ServerResponse } from "node:http";
import { AddressInfo } from "node:net";

/**
 * A proxy in front of a registry that counts what the deployer downloads and can misbehave on purpose:
 * answer a status instead of the registry, or flip a byte of a blob. It listens on loopback, which the
 * registry client reaches over plain HTTP, so a reference `<tap.host>/<name>@<digest>` goes through it.
 */
export interface RegistryTap {
  /** `127.0.0.1:<port>`: the registry part of references that go through the tap. */
  readonly host: string;
  /** Bytes of response bodies sent to clients since the last reset. */
  bodyBytes: number;
  /** Request paths since the last reset, `GET /v2/…`. */
  readonly requests: string[];
  /** Answers this status (and no body) to requests whose path matches; none by default. */
  fault: { status: number; path: RegExp } | undefined;
  /** Blob digests whose bodies get one byte flipped. */
  readonly corrupt: Set<string>;
  reset(): void;
  stop(): Promise<void>;
}

/** Starts a tap in front of `upstream` (`host:port`, plain HTTP). */
export async function startRegistryTap(upstream: string): Promise<RegistryTap> {
  const [upstreamHost, upstreamPort] = splitHostPort(upstream);
  const tap = {
    host: "",
    bodyBytes: 0,
    requests: [] as string[],
    fault: undefined as RegistryTap["fault"],
    corrupt: new Set<string>(),
    reset() {
      tap.bodyBytes = 0;
      tap.requests.length = 0;
    },
    stop: async () => undefined as void,
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? "/";
    tap.requests.push(`${req.method} ${url}`);
    if (tap.fault && tap.fault.path.test(url)) {
      res.writeHead(tap.fault.status, { "Content-Length": "0" });
      res.end();
      return;
    }
    const flip = [...tap.corrupt].some((digest) => url.endsWith(`/blobs/${digest}`));
    let first = true;
    const forward = request(
      { host: upstreamHost, port: upstreamPort, method: req.method, path: url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.on("data", (chunk: Buffer) => {
          if (flip && first && chunk.length > 0)
            chunk = Buffer.concat([Buffer.from([chunk[0] ^ 0xff]), chunk.subarray(1)]);
          first = false;
          tap.bodyBytes += chunk.length;
          res.write(chunk);
        });
        answer.on("end", () => res.end());
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  tap.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  tap.stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return tap;
}

function splitHostPort(hostPort: string): [string, number] {
  const at = hostPort.lastIndexOf(":");
  return [hostPort.slice(0, at).replace(/^\[|\]$/g, ""), Number(hostPort.slice(at + 1))];
}
