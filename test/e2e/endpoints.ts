// Where the apps of a stack answer, read from its outputs, and how a client reaches them: plain HTTP at a
// host's address, or HTTPS for a domain at a host's address, trusting that host's proxy CA.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { run } from "../../local/exec";
import { pulumiOutput } from "../../local/stack";
import { ProbeTarget } from "../integration/probe";

export interface Endpoint {
  host: string;
  url: string;
  address: string;
  /** For https: the host's proxy CA (PEM). */
  ca?: string;
  /** For https: where that CA was saved, for curl. */
  caFile?: string;
}

type PulumiOpts = { cwd: string; env: NodeJS.ProcessEnv };

async function stackOutput<T>(stack: string, name: string, opts: PulumiOpts): Promise<T> {
  return JSON.parse(await pulumiOutput(["stack", "output", "--stack", stack, "--json", name], opts)) as T;
}

/** Per app, where it answers on each host; the CAs are saved next to the project copy. */
export async function endpoints(stack: string, opts: PulumiOpts): Promise<Record<string, Endpoint[]>> {
  const all = await stackOutput<Record<string, Endpoint[]>>(stack, "appEndpoints", opts);
  const cas = await stackOutput<Record<string, string>>(stack, "proxyCaCertificates", opts);
  for (const [host, pem] of Object.entries(cas)) await writeFile(path.join(opts.cwd, `${host}-ca.crt`), pem);
  const withCa = (e: Endpoint): Endpoint =>
    e.url.startsWith("https:")
      ? { ...e, ca: cas[e.host], caFile: path.join(opts.cwd, `${e.host}-ca.crt`) }
      : e;
  return Object.fromEntries(Object.entries(all).map(([app, list]) => [app, list.map(withCa)]));
}

/** GET from the root namespace, as a client would; the body, or what went wrong. */
export async function answers(endpoint: Endpoint): Promise<string> {
  const url = new URL(endpoint.url);
  const tls = endpoint.caFile
    ? ["--cacert", endpoint.caFile, "--resolve", `${url.hostname}:443:[${endpoint.address}]`]
    : [];
  const result = await run("curl", ["-sS", "-g", "--max-time", "5", ...tls, endpoint.url], { check: false });
  return result.code === 0 ? result.stdout : `curl failed: ${result.stderr.trim()}`;
}

/** A probe target per app and host the proxy serves (an app without a route has no URL to probe). */
export function probeTargets(all: Record<string, Endpoint[]>): ProbeTarget[] {
  return Object.values(all).flatMap((list) =>
    list
      .filter((e) => e.url.includes("://"))
      .map((e) => (e.ca ? { url: e.url, address: e.address, ca: e.ca } : { url: e.url })),
  );
}
