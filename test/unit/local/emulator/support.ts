import * as crypto from "crypto";
import { RunningEmulator, startEmulator } from "../../../../local/emulator/emulator";
import { InMemoryLoadBalancerBackend } from "../../../../local/emulator/cloudBackend";
import { HostBackend, InMemoryHostBackend } from "../../../../local/emulator/hostBackend";

export const TOKEN = "a".repeat(64);

export interface ApiResponse {
  status: number;
  contentType: string | null;
  /** Parsed JSON, or undefined for an empty body. */
  // any: the assertions dig into arbitrary API JSON
  body: any;
}

export interface TestEmulator {
  emulator: RunningEmulator;
  hosts: InMemoryHostBackend;
  /** The last spec of every network and load balancer the emulator materialised. */
  lbs: InMemoryLoadBalancerBackend;
  /** One request the way hcloud-go makes it: bearer token, JSON body only when there is one. */
  api(method: string, path: string, body?: unknown, token?: string): Promise<ApiResponse>;
  close(): Promise<void>;
}

/** A request without the conveniences of api(), for malformed bodies and headers. */
export async function fetchJson(url: string, init: RequestInit = {}): Promise<ApiResponse> {
  const response = await fetch(url, init);
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    body: text === "" ? undefined : JSON.parse(text),
  };
}

export async function startTestEmulator(
  options: { stateFile?: string; hosts?: HostBackend; token?: string } = {},
): Promise<TestEmulator> {
  const hosts = new InMemoryHostBackend();
  const lbs = new InMemoryLoadBalancerBackend();
  const emulator = await startEmulator({
    hosts: options.hosts ?? hosts,
    loadBalancers: lbs,
    stateFile: options.stateFile,
    token: options.token,
  });
  return {
    emulator,
    hosts,
    lbs,
    async api(method, path, body, token = options.token ?? TOKEN) {
      const headers: Record<string, string> = {
        Authorization: `Bearer ${token}`,
        Accept: "application/json",
      };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
      return fetchJson(`${emulator.endpoint}${path}`, init);
    },
    close: () => emulator.close(),
  };
}

function wireString(data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  return Buffer.concat([length, data]);
}

/** A real ssh-ed25519 public key line, so fingerprints are computed from genuine key blobs. */
export function newPublicKey(comment = "deployer"): string {
  const { publicKey } = crypto.generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const blob = Buffer.concat([wireString(Buffer.from("ssh-ed25519")), wireString(raw)]);
  return `ssh-ed25519 ${blob.toString("base64")} ${comment}`;
}

/** The MD5 fingerprint the API derives from a key line, computed independently of the emulator. */
export function md5Fingerprint(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.split(" ")[1], "base64");
  return crypto.createHash("md5").update(blob).digest("hex").match(/../g)!.join(":");
}

export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** The POST /servers body the provider sends for this program's IPv6-only hosts. */
export function serverCreateBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: "web-1-7a6b5c4",
    server_type: "cx23",
    image: 5012,
    location: "fsn1",
    user_data: "#cloud-config\npackages: [docker.io]\n",
    public_net: { enable_ipv4: false, enable_ipv6: true },
    ...overrides,
  };
}
