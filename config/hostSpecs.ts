/**
 * What server each host gets: the server type and image the stack names, else what the host was created
 * with (recorded in the stack's outputs), else today's default. A changed default must never rescale or
 * replace a running server by surprise; a generation bump, which replaces the server anyway, moves an
 * unnamed host to today's defaults.
 */
import { defaultServerType, HOST_DEFAULTS } from "../components/hetznerHost";
import type { HostConfig } from "./types";

/** What a host's server was created with; the stack output `hostSpecs` records it per host. */
export interface HostSpec {
  readonly serverType: string;
  readonly image: string;
  readonly generation: number;
}

/** What the stack's last deployment recorded, from its own outputs. */
export interface PreviousDeployment {
  readonly hostSpecs: Readonly<Record<string, HostSpec>>;
  /** Every host that had a server, including those deployed before `hostSpecs` was recorded. */
  readonly serverIds: Readonly<Record<string, string>>;
  /** GB per Hetzner Volume (`<app>/<volume>`), as last deployed. */
  readonly volumeSizes: Readonly<Record<string, number>>;
  /** Per app served on a plain-HTTP host port (no domains), that port, as last deployed. */
  readonly servedPorts: Readonly<Record<string, number>>;
}

export const NO_PREVIOUS_DEPLOYMENT: PreviousDeployment = {
  hostSpecs: {},
  serverIds: {},
  volumeSizes: {},
  servedPorts: {},
};

/**
 * The defaults of every hcloud-deploy release before 2026-12 (cx22 can no longer be ordered since
 * 2025-12-31): what an unrecorded host that had a server was created with.
 */
export const LEGACY_HOST_DEFAULTS = { serverType: "cx22", image: "debian-12" } as const;

export type SpecOrigin = "stack" | "kept" | "default";

export interface PlannedHost extends HostSpec {
  readonly name: string;
  readonly location: string;
  /** Where in hcloud-deploy:hosts the host is, for messages naming the key. */
  readonly index: number;
  readonly serverTypeOrigin: SpecOrigin;
  readonly imageOrigin: SpecOrigin;
  /**
   * Whether this deployment orders a server of this type and image in this location: a new host, a
   * bumped generation, or a changed type (a rescale) or image (a rebuild).
   */
  readonly orders: boolean;
}

function pick(named: string | undefined, kept: string | undefined, fallback: string) {
  if (named !== undefined) return { value: named, origin: "stack" as const };
  if (kept !== undefined) return { value: kept, origin: "kept" as const };
  return { value: fallback, origin: "default" as const };
}

export function planHost(host: HostConfig, index: number, previous: PreviousDeployment): PlannedHost {
  const recorded =
    previous.hostSpecs[host.name] ??
    (previous.serverIds[host.name] !== undefined
      ? // Deployed before specs were recorded: its generation is unknown, so it is taken as unchanged.
        { ...LEGACY_HOST_DEFAULTS, generation: host.generation }
      : undefined);
  const sameServer = recorded !== undefined && recorded.generation === host.generation;
  const serverType = pick(
    host.serverType,
    sameServer ? recorded.serverType : undefined,
    defaultServerType(host.location),
  );
  const image = pick(host.image, sameServer ? recorded.image : undefined, HOST_DEFAULTS.image);
  return {
    name: host.name,
    location: host.location,
    index,
    generation: host.generation,
    serverType: serverType.value,
    image: image.value,
    serverTypeOrigin: serverType.origin,
    imageOrigin: image.origin,
    orders: !sameServer || recorded.serverType !== serverType.value || recorded.image !== image.value,
  };
}

export function planHosts(hosts: readonly HostConfig[], previous: PreviousDeployment): PlannedHost[] {
  return hosts.map((host, i) => planHost(host, i, previous));
}

/** The record the stack exports, so the next deployment keeps what each host was created with. */
export function hostSpecsOutput(plans: readonly PlannedHost[]): Record<string, HostSpec> {
  return Object.fromEntries(
    plans.map((p) => [p.name, { serverType: p.serverType, image: p.image, generation: p.generation }]),
  );
}
