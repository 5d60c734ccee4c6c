// A bounded load probe: a new connection per request, at a steady rate per target, each request with
// a timeout, stopping by itself. It proves "no request dropped" around a rollout, a rollback or a
// restart, and prints one line per case: `probe: <case>: sent N, failed F, longest gap G ms`.
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export interface ProbeTarget {
  /** `http://[addr]:port/path`, or `https://name/path` with `address` (where the name resolves). */
  readonly url: string;
  /** For https: the IPv6 address to connect to (like curl --resolve). */
  readonly address?: string;
  /** For https: the CA (PEM) to trust. */
  readonly ca?: string;
}

export interface ProbeOptions {
  /** Requests per second per target. Default 25. */
  readonly ratePerTarget?: number;
  /** Per request. Default 2000 ms. */
  readonly timeoutMs?: number;
  /** The probe stops by itself after this long. Default 10 minutes. */
  readonly maxDurationMs?: number;
}

export interface ProbeResult {
  readonly sent: number;
  readonly failed: number;
  /** The longest time any target went without a successful answer, in ms. */
  readonly longestGapMs: number;
  /** The first few failures, for the assertion message. */
  readonly failures: string[];
}

export interface Probe {
  /** Stops sending, waits for what is in flight, prints the probe line and returns the counts. */
  stop(): Promise<ProbeResult>;
}

export function startProbe(name: string, targets: ProbeTarget[], opts: ProbeOptions = {}): Probe {
  const rate = opts.ratePerTarget ?? 25;
  const timeoutMs = opts.timeoutMs ?? 2000;
  const started = Date.now();
  let sent = 0;
  let failed = 0;
  const failures: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const lastSuccess = targets.map(() => started);
  const longestGap = targets.map(() => 0);

  const fire = (i: number) => {
    sent++;
    const attempt = send(targets[i], timeoutMs).then((problem) => {
      const now = Date.now();
      if (problem === undefined) {
        longestGap[i] = Math.max(longestGap[i], now - lastSuccess[i]);
        lastSuccess[i] = now;
      } else {
        failed++;
        if (failures.length < 5) failures.push(`${targets[i].url} at +${now - started} ms: ${problem}`);
      }
    });
    inFlight.add(attempt);
    void attempt.finally(() => inFlight.delete(attempt));
  };
  const timers = targets.map((_, i) => setInterval(() => fire(i), 1000 / rate));
  let stopped = false;
  const halt = () => {
    if (stopped) return;
    stopped = true;
    timers.forEach(clearInterval);
    clearTimeout(limit);
  };
  const limit = setTimeout(halt, opts.maxDurationMs ?? 600_000);

  return {
    async stop() {
      halt();
      await Promise.all([...inFlight]);
      const end = Date.now();
      const gap = Math.max(...targets.map((_, i) => Math.max(longestGap[i], end - lastSuccess[i])));
      // The first failure says who answered what: enough to tell a flake from a dropped request in CI.
      const first = failures.length > 0 ? `; first failure: ${failures[0]}` : "";
      process.stderr.write(`probe: ${name}: sent ${sent}, failed ${failed}, longest gap ${gap} ms${first}\n`);
      return { sent, failed, longestGapMs: gap, failures };
    },
  };
}

/** One GET on a new connection; resolves to undefined on a 2xx/3xx answer, else to what went wrong. */
function send(target: ProbeTarget, timeoutMs: number): Promise<string | undefined> {
  const url = new URL(target.url);
  const https = url.protocol === "https:";
  const options = {
    host: target.address ?? url.hostname.replace(/^\[|\]$/g, ""),
    port: url.port || (https ? 443 : 80),
    path: `${url.pathname}${url.search}`,
    headers: { host: url.host, connection: "close" },
    agent: false as const,
    timeout: timeoutMs,
    ...(https ? { servername: url.hostname, ca: target.ca } : {}),
  };
  return new Promise((resolve) => {
    const req = (https ? httpsRequest : httpRequest)(options, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk).length);
      res.on("end", () => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 400) return resolve(undefined);
        // Who answered (the host's Caddy, a load balancer) and how: what tells one failure from another.
        const server = res.headers.server ? ` from ${res.headers.server}` : "";
        const text = body
          .replace(/<[^>]*>/g, " ")
          .replace(/\s+/g, " ")
          .trim()
          .slice(0, 80);
        resolve(`HTTP ${status}${server}${text ? `: ${text}` : ""}`);
      });
      res.on("error", (err) => resolve(err.message));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", (err) => resolve(err.message));
    req.end();
  });
}
