/**
 * What a stack wants on its hosts, read from its outputs (`hostAddresses`, `hostKeys`, `hostApps`, see
 * index.ts), and what a host reports (components/shell/report.ts), as typed values.
 */
import { HOST_TAG_PREFIX } from "../components/shell/prelude";
import { OpsError } from "./stackCli";

export interface DesiredApp {
  readonly app: string;
  /** Digest-pinned reference the stack deploys. */
  readonly image: string;
  /** `sha256:<hex>` of `image`. */
  readonly digest: string;
  /** Undefined with domains or, without them, for an app with no route (the apps' network only). */
  readonly hostPort: number | undefined;
  /** Names the host proxy serves the app under over HTTPS; empty: plain HTTP on hostPort. */
  readonly domains: readonly string[];
  readonly healthPath: string;
  /** URNs of the Service and the Delivery that put the app on this host. */
  readonly service: string;
  readonly delivery: string;
  /** The app's volumes; `size` (GB) for a Hetzner Volume, which must be mounted. Stacks from before: none. */
  readonly volumes: readonly { readonly name: string; readonly size?: number }[];
  /** The app's scheduled jobs on this host (its first); stacks from before jobs: none. */
  readonly jobs: readonly { readonly name: string; readonly schedule: string }[];
  /** Containers of the app on this host; stacks from before replicas: 1. */
  readonly replicas: number;
}

export interface DesiredHost {
  readonly name: string;
  readonly address: string;
  readonly hostKey: string;
  /** The platform the stack delivers for (`linux/arm64` on cax types); stacks from before ARM hosts: amd64. */
  readonly platform: string;
  /** Its address in the stack's private network; absent for a one-host stack or one from before it. */
  readonly privateIp?: string;
  readonly apps: readonly DesiredApp[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The hosts and apps a stack wants, from `pulumi stack output --json`; one-line errors. */
export function desiredHosts(stack: string, outputs: Record<string, unknown>): DesiredHost[] {
  const { hostAddresses, hostKeys, hostApps, hostPlatforms, hostPrivateIps } = outputs;
  if (!isObject(hostAddresses) || !isObject(hostKeys) || !isObject(hostApps)) {
    throw new OpsError(
      `stack ${stack} has no hostKeys/hostApps outputs: deploy it once with this version (pulumi up)`,
    );
  }
  return Object.entries(hostApps)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, apps]) => {
      const address = hostAddresses[name];
      const hostKey = hostKeys[name];
      if (typeof address !== "string" || typeof hostKey !== "string" || !isObject(apps)) {
        throw new OpsError(`stack ${stack}: the outputs do not say how to reach host ${name}`);
      }
      return {
        name,
        address,
        hostKey,
        platform: isObject(hostPlatforms) ? String(hostPlatforms[name] ?? "linux/amd64") : "linux/amd64",
        ...(isObject(hostPrivateIps) && typeof hostPrivateIps[name] === "string"
          ? { privateIp: hostPrivateIps[name] as string }
          : {}),
        apps: Object.entries(apps)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([app, v]) => desiredApp(stack, name, app, v)),
      };
    });
}

function desiredApp(stack: string, host: string, app: string, v: unknown): DesiredApp {
  const where = `stack ${stack}: hostApps.${host}.${app}`;
  if (!isObject(v)) throw new OpsError(`${where} is not an object`);
  const image = String(v.image);
  const digest = /@(sha256:[0-9a-f]{64})$/.exec(image)?.[1];
  if (!digest) throw new OpsError(`${where}.image "${image}" is not digest-pinned`);
  return {
    app,
    image,
    digest,
    hostPort: v.hostPort === undefined ? undefined : Number(v.hostPort),
    domains: Array.isArray(v.domains) ? v.domains.map(String) : [],
    healthPath: String(v.healthPath),
    service: String(v.service),
    delivery: String(v.delivery),
    volumes: Array.isArray(v.volumes)
      ? v.volumes.filter(isObject).map((vol) => ({
          name: String(vol.name),
          ...(typeof vol.size === "number" ? { size: vol.size } : {}),
        }))
      : [],
    jobs: Array.isArray(v.jobs)
      ? v.jobs.filter(isObject).map((j) => ({ name: String(j.name), schedule: String(j.schedule) }))
      : [],
    replicas: typeof v.replicas === "number" ? v.replicas : 1,
  };
}

/** One container as the host reports it. */
export interface ContainerReport {
  readonly name: string;
  readonly imageId: string;
  /** The reference it was started from, e.g. `hcloud-deploy/web:<hex>`. */
  readonly image: string;
  readonly app: string;
  readonly instance: string;
  readonly revision: string;
  /** Docker's state: running, exited, restarting, created, paused, dead. */
  readonly state: string;
  readonly exitCode: number;
  readonly startedAt: string;
  readonly restartCount: number;
  /** Docker's own health status when the image defines a HEALTHCHECK, else null. */
  readonly health: string | null;
  readonly ports: Record<string, { HostIp: string; HostPort: string }[] | null> | null;
}

export interface HostReport {
  readonly containers: readonly ContainerReport[];
  readonly images: readonly { readonly tag: string; readonly id: string }[];
  readonly checks: readonly { readonly app: string; readonly url: string; readonly http: string }[];
  readonly disk: {
    readonly path: string;
    readonly totalKiB: number;
    readonly usedKiB: number;
    readonly availableKiB: number;
    readonly images: string;
  };
  /** The volumes the report was asked about (reports from before volumes: none). */
  readonly volumes?: readonly VolumeReport[];
  /** The jobs the report was asked about (reports from before jobs: none). */
  readonly jobs?: readonly JobReport[];
  /** The proxy's HTTP servers (Caddy's `apps.http.servers`), or null without a proxy. */
  readonly proxy: unknown;
}

export interface VolumeReport {
  readonly app: string;
  readonly name: string;
  readonly exists: boolean;
  /** A file system is mounted on its directory (a Hetzner Volume's disk). */
  readonly mounted: boolean;
  readonly totalKiB: number;
  readonly availableKiB: number;
}

export interface JobReport {
  readonly app: string;
  readonly job: string;
  /** Its timer's unit file is on the host. */
  readonly installed: boolean;
  /** Its last run (written by the run itself), or null before the first. */
  readonly last: { readonly startedAt: string; readonly exitCode: number; readonly seconds: number } | null;
}

export function parseHostReport(host: string, text: string): HostReport {
  try {
    const report = JSON.parse(text) as HostReport;
    if (!Array.isArray(report.containers) || !Array.isArray(report.images)) throw new Error("fields missing");
    return report;
  } catch (err) {
    throw new OpsError(`host ${host} sent a report that does not parse (${(err as Error).message})`);
  }
}

/** `sha256:<hex>` of the digest an app's image tag on a host names, if it is one of ours. */
export function digestOfTag(app: string, tag: string): string | undefined {
  const prefix = `${HOST_TAG_PREFIX}${app}:`;
  const hex = tag.startsWith(prefix) ? tag.slice(prefix.length) : "";
  return /^[0-9a-f]{64}$/.test(hex) ? `sha256:${hex}` : undefined;
}

/** The hosts that run `app` (only `host` when given), in name order; one-line errors naming what there is. */
export function hostsOfApp(
  stack: string,
  all: readonly DesiredHost[],
  app: string,
  host: string | undefined,
): DesiredHost[] {
  const running = all.filter((h) => h.apps.some((a) => a.app === app));
  if (running.length === 0) {
    const apps = [...new Set(all.flatMap((h) => h.apps.map((a) => a.app)))].sort();
    throw new OpsError(`app ${app} runs on no host of stack ${stack} (apps: ${apps.join(", ") || "none"})`);
  }
  const chosen = host === undefined ? running : running.filter((h) => h.name === host);
  if (chosen.length === 0) {
    throw new OpsError(
      `app ${app} does not run on host ${host} (it runs on ${running.map((h) => h.name).join(", ")})`,
    );
  }
  return chosen;
}
