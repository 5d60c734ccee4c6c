/**
 * The live catalog of the Hetzner API the provider talks to (`hcloud:endpoint`): server types with their
 * per-location availability, locations, and system images per architecture. Read once per program run,
 * before any resource, so a preview on a pull request learns what Hetzner would refuse.
 */

export type Architecture = "x86" | "arm";

/** A deprecation as the API renders it (`announced`, `unavailable_after`: ISO 8601). */
export interface Deprecation {
  readonly announced: string;
  readonly unavailable_after: string;
}

export interface CatalogServerType {
  readonly name: string;
  readonly architecture: Architecture;
  readonly category?: string;
  readonly cores: number;
  readonly memory: number;
  readonly deprecation: Deprecation | null;
  /** Where the type is listed; `available` is whether it can be ordered there now. */
  readonly locations: readonly {
    readonly name: string;
    readonly available: boolean;
    readonly recommended?: boolean;
    readonly deprecation: Deprecation | null;
  }[];
}

export interface CatalogImage {
  readonly name: string | null;
  readonly architecture: Architecture;
  readonly status: string;
  readonly deprecated?: string | null;
}

export interface Catalog {
  readonly serverTypes: readonly CatalogServerType[];
  readonly locations: readonly { readonly name: string; readonly network_zone: string }[];
  readonly images: readonly CatalogImage[];
}

/** Where the catalog comes from: the provider's endpoint and token. */
export interface CatalogAccess {
  readonly endpoint: string;
  readonly token: string;
}

export const DEFAULT_ENDPOINT = "https://api.hetzner.cloud/v1";
const ATTEMPTS = 3;
const TIMEOUT_MS = 15_000;

/** One line naming the endpoint and what went wrong; the token never appears. */
export class CatalogError extends Error {
  constructor(endpoint: string, problem: string) {
    super(`preflight: cannot read Hetzner's catalog at ${endpoint}: ${problem}`);
    this.name = "CatalogError";
  }
}

/** The API's `error` object; undefined for another body (a proxy's HTML page), so the status still shows. */
function apiErrorOf(text: string): { code?: string; message?: string } | undefined {
  try {
    return (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
  } catch {
    return undefined;
  }
}

async function getJson(access: CatalogAccess, path: string): Promise<Record<string, unknown>> {
  const url = `${access.endpoint.replace(/\/+$/, "")}${path}`;
  let problem = "";
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      const res = await fetch(url, {
        headers: { Authorization: `Bearer ${access.token}`, Accept: "application/json" },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const text = await res.text();
      if (res.ok) return JSON.parse(text) as Record<string, unknown>;
      const apiError = apiErrorOf(text);
      problem = `GET ${path}: HTTP ${res.status}${apiError ? ` ${apiError.code}: ${apiError.message}` : ""}`;
      // Only a busy or failing API is worth asking again; a refused token or a missing path is not.
      if (res.status !== 429 && res.status < 500) break;
    } catch (err) {
      problem = `GET ${path}: ${(err as Error).message}`;
    }
    if (attempt < ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
  }
  throw new CatalogError(access.endpoint, problem);
}

/** Every page of a list endpoint (the API pages at 50 entries at most). */
async function getAll<T>(access: CatalogAccess, path: string, key: string): Promise<T[]> {
  const all: T[] = [];
  for (let page: number | null = 1; page !== null;) {
    const body = await getJson(access, `${path}${path.includes("?") ? "&" : "?"}per_page=50&page=${page}`);
    const items = body[key];
    if (!Array.isArray(items)) throw new CatalogError(access.endpoint, `GET ${path}: no "${key}" list`);
    all.push(...(items as T[]));
    const pagination = (body.meta as { pagination?: { next_page?: number | null } } | undefined)?.pagination;
    page = pagination?.next_page ?? null;
  }
  return all;
}

export async function fetchCatalog(access: CatalogAccess): Promise<Catalog> {
  const [serverTypes, locations, images] = await Promise.all([
    getAll<CatalogServerType>(access, "/server_types", "server_types"),
    getAll<Catalog["locations"][number]>(access, "/locations", "locations"),
    getAll<CatalogImage>(access, "/images?type=system&status=available", "images"),
  ]);
  return { serverTypes, locations, images };
}
