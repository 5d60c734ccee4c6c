/**
 * Pure side of `npm run status`: compares what the stack wants on each host with what the host reports,
 * and prints it. Drift is anything a `pulumi up` would not notice: a container missing, stopped or on
 * another image, a failing health check, the wanted image gone from the host, a container of ours the
 * stack does not know.
 */
import { proxyEndpoint } from "../components/shell/rollout";
import {
  ContainerReport,
  DesiredApp,
  DesiredHost,
  digestOfTag,
  HostReport,
  JobReport,
  VolumeReport,
} from "./desired";
import { routeOf } from "./proxyRoutes";

export interface AppStatus {
  readonly host: string;
  readonly app: string;
  /** What the stack wants (undefined: a container the stack does not know). */
  readonly desired: DesiredApp | undefined;
  readonly running: string;
  readonly state: string;
  readonly health: string;
  readonly route: string;
  /** Why this is drift; empty when the app runs as the stack wants. */
  readonly problems: readonly string[];
  /** The host lacks the wanted image: a repair must deliver it again too. */
  readonly imageMissing: boolean;
  /** One line per volume of the app: kind, whether mounted, size and free space. */
  readonly volumes: readonly string[];
  /** One line per scheduled job of the app on this host: its schedule and last run. */
  readonly jobs: readonly string[];
  /** With more than one wanted: one line per replica container, its state, image and health. */
  readonly replicas: readonly string[];
}

export interface HostStatus {
  readonly host: DesiredHost;
  /** The one-line reason the host could not be asked, or undefined. */
  readonly error: string | undefined;
  readonly disk: string;
  readonly apps: readonly AppStatus[];
}

const short = (digest: string) => digest.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, "$1…");

function gib(kib: number): string {
  return `${(kib / 1048576).toFixed(1)} GiB`;
}

function diskOf(report: HostReport): string {
  const d = report.disk;
  // As df counts it: of what is usable, so reserved blocks do not hide a full disk.
  const usable = d.usedKiB + d.availableKiB;
  const pct = usable > 0 ? Math.round((100 * d.usedKiB) / usable) : 0;
  return `${gib(d.usedKiB)} of ${gib(d.totalKiB)} used (${pct}%), ${gib(d.availableKiB)} free on ${d.path}; images ${d.images || "?"}`;
}

/** The container that serves the app: a running one first, then the most recently started. */
function servingContainer(containers: readonly ContainerReport[]): ContainerReport | undefined {
  return [...containers].sort(
    (a, b) =>
      Number(b.state === "running") - Number(a.state === "running") || b.startedAt.localeCompare(a.startedAt),
  )[0];
}

function stateOf(c: ContainerReport | undefined): string {
  if (!c) return "missing";
  if (c.state === "exited" || c.state === "dead") return `${c.state} (${c.exitCode})`;
  return c.restartCount > 0 && c.state === "restarting" ? `restarting (${c.restartCount}x)` : c.state;
}

function publishedRoute(c: ContainerReport | undefined): string {
  const routes = Object.entries(c?.ports ?? {}).flatMap(([inner, bindings]) =>
    [...new Set((bindings ?? []).map((b) => b.HostPort))].map((p) => `:${p} → ${inner.replace("/tcp", "")}`),
  );
  return routes.join(", ") || "-";
}

function healthOf(report: HostReport, app: string, c: ContainerReport | undefined): [string, boolean] {
  if (c?.health) return [c.health, c.health === "healthy"];
  const check = report.checks.find((k) => k.app === app);
  if (!check) return ["-", true];
  const ok = /^[23][0-9][0-9]$/.test(check.http);
  return [`${ok ? "ok" : "failing"} (HTTP ${check.http})`, ok];
}

function runningDigest(report: HostReport, app: string, c: ContainerReport | undefined): string | undefined {
  if (!c) return undefined;
  const tags = report.images.filter((i) => i.id === c.imageId).map((i) => digestOfTag(app, i.tag));
  return tags.find((d) => d !== undefined) ?? digestOfTag(app, c.image);
}

/** What status says of one volume, and its drift: a Hetzner Volume not mounted, a full disk. */
function volumeStatus(
  want: DesiredApp["volumes"][number],
  found: VolumeReport | undefined,
): [string, string[]] {
  const kind = want.size === undefined ? "directory" : `Hetzner Volume, ${want.size} GB`;
  if (!found || !found.exists)
    return [`volume ${want.name} (${kind}): missing`, [`volume ${want.name} is missing`]];
  const space = `${gib(found.totalKiB - found.availableKiB)} of ${gib(found.totalKiB)} used`;
  const problems = [
    ...(want.size !== undefined && !found.mounted
      ? [`volume ${want.name} (a Hetzner Volume) is not mounted`]
      : []),
    ...(found.availableKiB === 0 ? [`volume ${want.name} is full`] : []),
  ];
  const mounted = want.size === undefined ? "" : found.mounted ? ", mounted" : ", NOT MOUNTED";
  return [`volume ${want.name} (${kind}${mounted}): ${space}`, problems];
}

/** What status says of one job, and its drift: a timer missing. A failed run is the job's news, not drift. */
function jobStatus(want: DesiredApp["jobs"][number], found: JobReport | undefined): [string, string[]] {
  const head = `job ${want.name} (${want.schedule})`;
  // A report from a host that does not list jobs says nothing about them.
  if (!found) return [`${head}: not reported`, []];
  if (!found.installed) return [`${head}: timer missing`, [`job ${want.name} has no timer`]];
  if (!found.last) return [`${head}: not run yet`, []];
  const { startedAt, exitCode, seconds } = found.last;
  return [
    `${head}: last run ${startedAt}, exit ${exitCode}${exitCode === 0 ? "" : " (failed)"} after ${seconds}s`,
    [],
  ];
}

/** The app's replica containers (`<app>`, `<app>_2`, …; docker reports names with a slash), replica 1 first. */
function replicaContainers(report: HostReport, app: string): ContainerReport[] {
  const number = (c: ContainerReport) => Number(/_(\d+)$/.exec(c.name)?.[1] ?? 1);
  return report.containers
    .filter((c) => c.app === app && new RegExp(`^/?${app}(_\\d+)?$`).test(c.name))
    .sort((a, b) => number(a) - number(b));
}

/** What status says of each replica, and the drift: fewer running than wanted, one on another image. */
function replicaStatus(report: HostReport, want: DesiredApp): [string[], string[]] {
  if (want.replicas <= 1) return [[], []];
  const found = replicaContainers(report, want.app);
  const lines = found.map((c) => {
    const [health] = healthOf(report, want.app, c);
    const digest = runningDigest(report, want.app, c);
    return `replica ${c.name.replace(/^\//, "")}: ${stateOf(c)}, ${digest ? short(digest) : c.imageId.slice(0, 19)}, health ${health}`;
  });
  const running = found.filter((c) => c.state === "running").length;
  const problems = [
    ...(running < want.replicas ? [`${running} of ${want.replicas} replicas running`] : []),
    ...(found.length > want.replicas
      ? [`${found.length - want.replicas} replica(s) more than the stack wants`]
      : []),
    ...found
      .filter((c) => runningDigest(report, want.app, c) !== want.digest)
      .map((c) => `replica ${c.name.replace(/^\//, "")} runs another image`),
  ];
  return [lines, problems];
}

function appStatus(host: DesiredHost, report: HostReport, want: DesiredApp): AppStatus {
  const c = servingContainer(report.containers.filter((k) => k.app === want.app));
  const running = runningDigest(report, want.app, c);
  const [health, healthy] = healthOf(report, want.app, c);
  const imageMissing = !report.images.some((i) => digestOfTag(want.app, i.tag) === want.digest);
  const routed = proxyEndpoint(want) !== undefined;
  // An app without a route that still has one (a hostPort removed, not deployed yet) shows it.
  const proxied = routeOf(want.app, report.proxy);
  const route = routed
    ? (proxied ?? publishedRoute(c))
    : proxied && proxied !== "no route"
      ? proxied
      : "none (apps' network)";
  const problems = [
    ...(!c ? ["no container"] : c.state !== "running" ? [`container ${stateOf(c)}`] : []),
    ...(c && running !== want.digest
      ? [`runs ${running ? short(running) : c.imageId.slice(0, 19)} instead of ${short(want.digest)}`]
      : []),
    ...(c?.state === "running" && !healthy ? [`health check ${health}`] : []),
    ...(imageMissing ? [`image ${short(want.digest)} is not on the host`] : []),
    ...(routed && route === "no route" ? ["the proxy has no route for it"] : []),
  ];
  const volumes = want.volumes.map((v) =>
    volumeStatus(
      v,
      report.volumes?.find((r) => r.app === want.app && r.name === v.name),
    ),
  );
  const jobs = want.jobs.map((j) =>
    jobStatus(
      j,
      report.jobs?.find((r) => r.app === want.app && r.job === j.name),
    ),
  );
  const [replicas, replicaProblems] = replicaStatus(report, want);
  problems.push(...volumes.flatMap(([, p]) => p), ...jobs.flatMap(([, p]) => p), ...replicaProblems);
  return {
    host: host.name,
    app: want.app,
    desired: want,
    running: running ? short(running) : c ? c.imageId.slice(0, 19) : "-",
    state: stateOf(c),
    health,
    route,
    problems,
    imageMissing,
    volumes: volumes.map(([line]) => line),
    jobs: jobs.map(([line]) => line),
    replicas,
  };
}

/** Compares one host's report with what the stack wants there. */
export function hostStatus(host: DesiredHost, report: HostReport | string): HostStatus {
  if (typeof report === "string") return { host, error: report, disk: "-", apps: [] };
  const wanted = new Set(host.apps.map((a) => a.app));
  const strangers = [...new Set(report.containers.map((c) => c.app))].filter((app) => !wanted.has(app));
  return {
    host,
    error: undefined,
    disk: diskOf(report),
    apps: [
      ...host.apps.map((want) => appStatus(host, report, want)),
      ...strangers.sort().map((app): AppStatus => {
        const c = servingContainer(report.containers.filter((k) => k.app === app));
        return {
          host: host.name,
          app,
          desired: undefined,
          running: runningDigest(report, app, c) ?? c?.imageId.slice(0, 19) ?? "-",
          state: stateOf(c),
          health: "-",
          route: publishedRoute(c),
          problems: ["not in the stack"],
          imageMissing: false,
          volumes: [],
          jobs: [],
          replicas: [],
        };
      }),
    ],
  };
}

/** Every drifted app, and every host that could not be asked, as `<app> on <host>: <why>` lines. */
export function driftLines(hosts: readonly HostStatus[]): string[] {
  return hosts.flatMap((h) =>
    h.error !== undefined
      ? [h.error]
      : h.apps
          .filter((a) => a.problems.length > 0)
          .map((a) => `${a.app} on ${a.host}: ${a.problems.join("; ")}`),
  );
}

function table(rows: readonly string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i]))
      .join("  ")
      .trimEnd(),
  );
}

/**
 * The human view: per host its address (and private one), platform and disk, then one row per app; then the
 * drift, if any.
 */
export function formatStatus(stack: string, hosts: readonly HostStatus[]): string {
  const lines: string[] = [];
  for (const h of hosts) {
    const privateIp = h.host.privateIp ? `  private ${h.host.privateIp}` : "";
    lines.push(
      `${h.host.name}  [${h.host.address}]${privateIp}  ${h.host.platform}  ${h.error === undefined ? `disk: ${h.disk}` : "UNREACHABLE"}`,
    );
    if (h.error !== undefined) continue;
    const rows = [["APP", "DESIRED", "RUNNING", "STATE", "HEALTH", "ROUTE"]].concat(
      h.apps.map((a) => [
        a.app,
        a.desired ? short(a.desired.digest) : "(not in stack)",
        a.running,
        a.state,
        a.health,
        a.route,
      ]),
    );
    // Drifted rows are marked in the margin.
    lines.push(
      ...table(rows).map((r, i) => `${i > 0 && h.apps[i - 1].problems.length > 0 ? "! " : "  "}${r}`),
      ...h.apps.flatMap((a) =>
        [...a.replicas, ...a.volumes, ...a.jobs].map((line) => `    ${a.app} ${line}`),
      ),
    );
  }
  const drift = driftLines(hosts);
  const total = hosts.reduce((n, h) => n + h.host.apps.length, 0);
  if (drift.length === 0) {
    lines.push(
      `stack ${stack}: no drift; ${total} service(s) on ${hosts.length} host(s) as the stack wants them`,
    );
  } else {
    lines.push(`stack ${stack}: DRIFT`, ...drift.map((d) => `  ${d}`));
  }
  return lines.join("\n");
}
