/**
 * Checks each host against the live catalog before anything is created, so a preview on a pull request
 * says what Hetzner would refuse in the middle of a `pulumi up`: one line per problem, naming the key,
 * the host, what is wrong and what can be ordered there instead. Pure: the catalog comes in.
 */
import { catalogArchitectureOf, platformOfServerType } from "../components/platforms";
import type { Catalog, CatalogServerType, Deprecation } from "./catalog";
import type { PlannedHost } from "./hostSpecs";
import { configKey } from "./schema";
import type { AppConfig } from "./types";

export interface PreflightResult {
  /** Problems that would fail the deployment: the program stops before creating anything. */
  readonly errors: string[];
  /** Problems with a date ahead, or with servers that exist and are not ordered again now. */
  readonly warnings: string[];
}

const ALTERNATIVES = 6;

function isGone(deprecation: Deprecation | null | undefined, now: Date): boolean {
  return !!deprecation && now.getTime() > Date.parse(deprecation.unavailable_after);
}

function day(iso: string): string {
  return iso.slice(0, 10);
}

/**
 * Orderable now in the location: the wanted type's architecture first, then nearest in memory to it (or
 * Hetzner's recommended types first, for a type the catalog no longer has).
 */
export function orderableIn(
  catalog: Catalog,
  location: string,
  now: Date,
  like?: CatalogServerType,
): string[] {
  const here = (t: CatalogServerType) => t.locations.find((l) => l.name === location);
  const rank = (t: CatalogServerType) => [
    Number(t.architecture !== (like?.architecture ?? "x86")),
    like ? Math.abs(t.memory - like.memory) : Number(!here(t)?.recommended),
    t.memory,
  ];
  return catalog.serverTypes
    .filter((t) => t !== like && here(t)?.available && !isGone(here(t)?.deprecation ?? t.deprecation, now))
    .sort((a, b) => {
      const [ra, rb] = [rank(a), rank(b)];
      return ra[0] - rb[0] || ra[1] - rb[1] || ra[2] - rb[2] || a.name.localeCompare(b.name);
    })
    .slice(0, ALTERNATIVES)
    .map((t) => t.name);
}

function instead(catalog: Catalog, location: string, now: Date, like?: CatalogServerType): string {
  const names = orderableIn(catalog, location, now, like);
  return names.length > 0
    ? `orderable in ${location} instead: ${names.join(", ")}`
    : `nothing can be ordered in ${location} now`;
}

function checkServerType(
  host: PlannedHost,
  type: CatalogServerType | undefined,
  catalog: Catalog,
  now: Date,
  out: PreflightResult,
): void {
  const prefix = `${configKey("hosts")}[${host.index}].serverType: host ${host.name} in ${host.location}`;
  const where = host.orders ? "" : "; the running server keeps it, but a new one could not be ordered";
  if (!type) {
    const line = `${prefix}: server type ${host.serverType} is not in Hetzner's catalog (removed or unknown)${where}; ${instead(catalog, host.location, now)}`;
    (host.orders ? out.errors : out.warnings).push(line);
    return;
  }
  const listed = type.locations.find((l) => l.name === host.location);
  const deprecation: Deprecation | null = listed?.deprecation ?? type.deprecation;
  if (deprecation) {
    const gone = isGone(deprecation, now);
    const dates = `deprecated on ${day(deprecation.announced)} and unavailable ${gone ? "since" : "after"} ${day(deprecation.unavailable_after)}`;
    const line = `${prefix}: server type ${host.serverType} is ${dates}${gone ? where : ""}; ${instead(catalog, host.location, now, type)}`;
    (gone && host.orders ? out.errors : out.warnings).push(line);
    if (gone) return;
  }
  if (host.orders && !listed?.available) {
    const why = listed ? "sold out or withdrawn there" : `not offered there`;
    out.errors.push(
      `${prefix}: server type ${host.serverType} cannot be ordered in ${host.location} now (${why}); ${instead(catalog, host.location, now, type)}`,
    );
  }
  const platform = platformOfServerType(host.serverType);
  if (type.architecture !== catalogArchitectureOf(platform)) {
    out.errors.push(
      `${prefix}: server type ${host.serverType} is ${type.architecture} in Hetzner's catalog, but hcloud-deploy takes it for ${platform} (cax… is arm, the rest x86) and would deliver images the host cannot run; please report this`,
    );
  }
}

function checkImage(
  host: PlannedHost,
  type: CatalogServerType | undefined,
  catalog: Catalog,
  out: PreflightResult,
): void {
  if (!type || !host.orders) return;
  const images = catalog.images.filter((i) => i.architecture === type.architecture && i.name);
  if (images.some((i) => i.name === host.image)) return;
  const debian = images
    .map((i) => i.name as string)
    .filter((n) => n.startsWith("debian-"))
    .sort();
  out.errors.push(
    `${configKey("hosts")}[${host.index}].image: host ${host.name}: no image ${host.image} for ${type.architecture} (server type ${host.serverType}); ${type.architecture} images: ${debian.join(", ") || "none"}`,
  );
}

export function preflight(hosts: readonly PlannedHost[], catalog: Catalog, now: Date): PreflightResult {
  const out: PreflightResult = { errors: [], warnings: [] };
  for (const host of hosts) {
    if (!catalog.locations.some((l) => l.name === host.location)) {
      out.errors.push(
        `${configKey("hosts")}[${host.index}].location: host ${host.name}: location ${host.location} is not in Hetzner's catalog; locations: ${catalog.locations.map((l) => l.name).join(", ")}`,
      );
      continue;
    }
    const type = catalog.serverTypes.find((t) => t.name === host.serverType);
    checkServerType(host, type, catalog, now, out);
    checkImage(host, type, catalog, out);
  }
  return out;
}

const MEMORY_UNITS: Readonly<Record<string, number>> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Bytes of a Docker memory size as the config allows it: `256m`, `1g`, a bare number of bytes. */
export function bytesOf(memory: string): number {
  const [, amount, unit] = /^(\d+)([bkmg]?)$/.exec(memory) ?? [];
  if (amount === undefined) throw new Error(`"${memory}" is not a Docker memory size`);
  return Number(amount) * MEMORY_UNITS[unit || "b"];
}

/**
 * An app's replicas on a host, each with its memory limit, must fit into the memory of the host's server
 * type (as the catalog lists it, in GB): a host that cannot hold them would start them and let the kernel
 * kill one. Types the catalog lacks are checkServerType's news.
 */
export function checkReplicaMemory(
  apps: readonly Pick<AppConfig, "name" | "hosts" | "replicas" | "memory">[],
  hosts: readonly PlannedHost[],
  catalog: Catalog,
): string[] {
  return apps.flatMap((app, i) =>
    app.replicas <= 1
      ? []
      : app.hosts.flatMap((hostName) => {
          const host = hosts.find((h) => h.name === hostName);
          const type = catalog.serverTypes.find((t) => t.name === host?.serverType);
          if (!host || !type) return [];
          const need = app.replicas * bytesOf(app.memory);
          if (need <= type.memory * 1024 ** 3) return [];
          return [
            `${configKey("apps")}[${i}].replicas: app ${app.name}: ${app.replicas} replicas of ${app.memory} need ` +
              `${(need / 1024 ** 3).toFixed(1)} GB, more than host ${hostName}'s ${host.serverType} has (${type.memory} GB)`,
          ];
        }),
  );
}
