import { Body } from "./body";
import { CloudSync } from "./cloudSync";
import { ApiError, invalidInput } from "./errors";
import { HostBackend } from "./hostBackend";
import { StateStore } from "./store";

export interface RequestContext {
  params: Record<string, string>;
  query: URLSearchParams;
  body: Body;
  store: StateStore;
  hosts: HostBackend;
  /** Networks and load balancers: call sync() after changing them. */
  cloud: CloudSync;
}

export interface Reply {
  status: number;
  /** Omitted only for 204. */
  body?: unknown;
}

export type Handler = (context: RequestContext) => Reply | Promise<Reply>;

export interface Route {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path below the API prefix; `:name` segments become params. */
  pattern: string;
  handler: Handler;
}

export interface RouteMatch {
  handler: Handler;
  params: Record<string, string>;
}

function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  const patternParts = pattern.split("/");
  const pathParts = path.split("/");
  if (patternParts.length !== pathParts.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, part] of patternParts.entries()) {
    if (part.startsWith(":")) params[part.slice(1)] = decodeURIComponent(pathParts[i]);
    else if (part !== pathParts[i]) return undefined;
  }
  return params;
}

/** 404 for an unknown path, 405 for a known path with another method, like the real API. */
export function route(routes: Route[], method: string, path: string): RouteMatch {
  const trimmed = path.length > 1 ? path.replace(/\/$/, "") : path;
  let pathKnown = false;
  for (const candidate of routes) {
    const params = matchPattern(candidate.pattern, trimmed);
    if (!params) continue;
    if (candidate.method === method) return { handler: candidate.handler, params };
    pathKnown = true;
  }
  if (pathKnown) throw new ApiError(405, "method_not_allowed", `${method} is not allowed on ${path}`);
  throw new ApiError(404, "not_found", `no endpoint ${method} ${path}`);
}

/** The numeric `:id` of a path; IDs are integers everywhere in the API. */
export function idParam(context: RequestContext, name = "id"): number {
  const text = context.params[name];
  const id = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(id)) {
    throw invalidInput(name, `"${text}" is not an integer ID`);
  }
  return id;
}
