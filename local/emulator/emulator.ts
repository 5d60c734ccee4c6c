import * as http from "http";
import { AddressInfo } from "net";
import { Body, optionalBoolean, optionalObject, requiredString } from "./body";
import { InMemoryLoadBalancerBackend, LoadBalancerBackend } from "./cloudBackend";
import { CloudSync } from "./cloudSync";
import { ApiError } from "./errors";
import { HostBackend } from "./hostBackend";
import { parseIpv6Pool } from "./ipv6";
import { Reply, route } from "./router";
import { API_ROUTES } from "./routes";
import { restoreHosts } from "./serverLifecycle";
import { StateStore } from "./store";
import { restoreVolumes } from "./volumeLifecycle";

export const API_PREFIX = "/v1";
/** Not a Hetzner endpoint: the whole state, for tests ("the emulator holds no servers"). */
export const STATE_PATH = "/__emulator/state";
/**
 * Not a Hetzner endpoint: marks a server type sold out in a location, for tests that run the emulator
 * out of process (the local stack). `POST /__emulator/sold_out` with
 * `{"server_type": "cax11", "location": "fsn1"}` (add `"sold_out": false` to make it orderable again)
 * answers 200 `{"sold_out": [{"server_type", "location"}, …]}`; `GET` lists the marks. No token, like
 * STATE_PATH. Afterwards GET /v1/server_types shows `available: false` for that location and
 * POST /v1/servers answers 412 resource_unavailable. In-process: `store.markSoldOut(type, location)`.
 */
export const SOLD_OUT_PATH = "/__emulator/sold_out";
/**
 * Not a Hetzner endpoint either: `POST /__emulator/deprecation` with `{"server_type": "cx23", "location":
 * "fsn1", "deprecation": {"announced": …, "unavailable_after": …}}` (or `null`; `"reset": true` gives back
 * the catalog's) sets that type's deprecation there; `GET` lists the marks. A date ahead makes a listed
 * type deprecated but orderable, and lists a withdrawn one (cx22) again. In-process: `store.markDeprecation`.
 */
export const DEPRECATION_PATH = "/__emulator/deprecation";
export const DEFAULT_IPV6_POOL = "fd5e::/32";

export interface EmulatorOptions {
  hosts: HostBackend;
  /** Materialises private networks and load balancers; by default nothing is started. */
  loadBalancers?: LoadBalancerBackend;
  /** 0 (the default) picks a free port. */
  port?: number;
  listen?: string;
  /** Accept only this bearer token; by default any 64-character token, the length the provider insists on. */
  token?: string;
  /** JSON file the state is loaded from and saved to after every change; in memory only when absent. */
  stateFile?: string;
  ipv6Pool?: string;
  /** Receives one line per request and other notices; silent by default. */
  log?: (line: string) => void;
}

export interface RunningEmulator {
  /** `http://host:port` */
  readonly url: string;
  /** What HCLOUD_ENDPOINT / hcloud:endpoint must be set to. */
  readonly endpoint: string;
  readonly store: StateStore;
  /** Stops listening and stops every host, network and load balancer it started; the state file stays. */
  close(): Promise<void>;
}

function checkToken(header: string | undefined, token: string | undefined): void {
  const given = /^Bearer (\S+)$/.exec(header ?? "")?.[1];
  const valid = given !== undefined && (token === undefined ? given.length === 64 : given === token);
  if (!valid) throw new ApiError(401, "unauthorized", "unable to authenticate");
}

async function readBody(request: http.IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  // hcloud-go sends action POSTs such as poweron without any body.
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, "json_error", `request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ApiError(400, "json_error", "request body must be a JSON object");
  }
  return parsed as Body;
}

function send(response: http.ServerResponse, reply: Reply): void {
  // Always JSON: hcloud-go reads error bodies and pagination only with this content type.
  response.writeHead(reply.status, { "Content-Type": "application/json" });
  response.end(reply.status === 204 ? undefined : JSON.stringify(reply.body));
}

export async function startEmulator(options: EmulatorOptions): Promise<RunningEmulator> {
  const log = options.log ?? (() => undefined);
  const store = StateStore.open(parseIpv6Pool(options.ipv6Pool ?? DEFAULT_IPV6_POOL), options.stateFile);
  await restoreHosts(store, options.hosts, log);
  await restoreVolumes(store, options.hosts, log);
  const cloud = new CloudSync(() => store.state, options.loadBalancers ?? new InMemoryLoadBalancerBackend());
  // Like the hosts, networks and load balancers come back from the state; a failure is logged, not fatal.
  await cloud
    .sync()
    .catch((error: Error) => log(`restoring networks and load balancers failed: ${error.message}`));

  /** A test endpoint for catalog marks: POST applies one and saves the state, GET (and POST) list them. */
  async function markEndpoint(
    path: string,
    method: string,
    request: http.IncomingMessage,
    mark: (body: Body) => void,
    list: () => Record<string, unknown>,
  ): Promise<Reply> {
    if (method === "POST") {
      mark(await readBody(request));
      store.save();
    } else if (method !== "GET") {
      throw new ApiError(405, "method_not_allowed", `${method} is not allowed on ${path}`);
    }
    return { status: 200, body: list() };
  }

  const markSoldOut = (body: Body) =>
    store.markSoldOut(
      requiredString(body, "server_type"),
      requiredString(body, "location"),
      optionalBoolean(body, "sold_out") ?? true,
    );
  const soldOutMarks = () => ({
    sold_out: store.state.soldOut.map((m) => ({ server_type: m.serverType, location: m.location })),
  });
  const markDeprecation = (body: Body) => {
    const deprecation = optionalObject(body, "deprecation") ?? null;
    store.markDeprecation(
      requiredString(body, "server_type"),
      requiredString(body, "location"),
      deprecation && {
        announced: requiredString(deprecation, "announced"),
        unavailable_after: requiredString(deprecation, "unavailable_after"),
      },
      optionalBoolean(body, "reset") ?? false,
    );
  };
  const deprecationMarks = () => ({
    deprecations: store.state.deprecationMarks.map((m) => ({
      server_type: m.serverType,
      location: m.location,
      deprecation: m.deprecation,
    })),
  });

  async function handle(request: http.IncomingMessage): Promise<Reply> {
    const method = request.method ?? "GET";
    const url = new URL(request.url ?? "/", "http://emulator");
    if (url.pathname === STATE_PATH && method === "GET") return { status: 200, body: store.state };
    if (url.pathname === SOLD_OUT_PATH) {
      return markEndpoint(SOLD_OUT_PATH, method, request, markSoldOut, soldOutMarks);
    }
    if (url.pathname === DEPRECATION_PATH) {
      return markEndpoint(DEPRECATION_PATH, method, request, markDeprecation, deprecationMarks);
    }
    if (url.pathname !== API_PREFIX && !url.pathname.startsWith(`${API_PREFIX}/`)) {
      throw new ApiError(
        404,
        "not_found",
        `no endpoint ${method} ${url.pathname}; the API lives under ${API_PREFIX}`,
      );
    }
    checkToken(request.headers.authorization, options.token);
    const { handler, params } = route(API_ROUTES, method, url.pathname.slice(API_PREFIX.length));
    const body = await readBody(request);
    const reply = await handler({
      params,
      query: url.searchParams,
      body,
      store,
      hosts: options.hosts,
      cloud,
    });
    if (method !== "GET") store.save();
    return reply;
  }

  const server = http.createServer((request, response) => {
    const started = performance.now();
    void handle(request)
      .catch((error: unknown): Reply => {
        if (error instanceof ApiError) return { status: error.status, body: error.toBody() };
        log(`internal error on ${request.method} ${request.url}: ${(error as Error).stack ?? String(error)}`);
        return { status: 500, body: new ApiError(500, "server_error", String(error)).toBody() };
      })
      .then((reply) => {
        send(response, reply);
        log(`${request.method} ${request.url} ${reply.status} ${Math.round(performance.now() - started)}ms`);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.listen ?? "127.0.0.1", resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(":") ? `[${address}]` : address}:${port}`;
  return {
    url,
    endpoint: `${url}${API_PREFIX}`,
    store,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cloud.close();
      await options.hosts.close();
    },
  };
}
