/**
 * What `npm run bench` writes to bench/results.json (schema in docs/benchmark.md), the one-line summary it prints
 * last, and its targets (issue 10). Pure: the chart and the tests work from these. (Not named results.ts:
 * `require("./results")` would find the JSON first.)
 */

/** One measured case. Bytes are deterministic; seconds depend on the machine's load. */
export interface CaseResult {
  readonly id: string;
  readonly label: string;
  readonly hosts: number;
  /** Bytes that reached the hosts, over all their links (relays between hosts included). */
  readonly bytes: number | null;
  /** Bytes the deployer sent: what crossed its uplink. */
  readonly uplinkBytes: number | null;
  /** Bytes the deployer downloaded from the registry (manifests and blobs); absent for cases that do not. */
  readonly downloadedBytes?: number | null;
  /** CPU seconds the machine was busy during the case's median run (all cores together). */
  readonly cpuBusyS?: number;
  readonly seconds: number | null;
  /** Why the case did not run (then bytes and seconds are null). */
  readonly skipped?: string;
  /** For `pulumi up` cases: seconds per resource that changed, as Pulumi reported them. */
  readonly steps?: Readonly<Record<string, number>>;
}

export interface BenchResults {
  readonly schema: 1;
  readonly date: string;
  readonly mode: "full" | "quick";
  /** Link rate the case's shaping used, in Mbit/s. */
  readonly rateMbit: number;
  readonly machine: { readonly cpus: number; readonly kernel: string; readonly docker: string };
  readonly image: {
    readonly layers: readonly { readonly name: string; readonly bytes: number }[];
    readonly bytes: number;
    /** The whole image as `docker save | zstd -3`. */
    readonly compressedBytes: number;
    /** The layer the one-file change touches, compressed the same way. */
    readonly changedLayerCompressedBytes: number;
    /** Seconds `docker save` of the image takes on the deployer (a partial pack from an engine starts with it). */
    readonly saveS: number;
    /** The changed layer as the registry stores it (gzip): what a registry-fed one-file change fetches. */
    readonly changedLayerRegistryBytes: number;
    /** The changed image's manifest and config: what every registry-fed delivery reads first. */
    readonly manifestBytes: number;
  };
  /** Seconds a host takes to load the whole image from a local compressed archive. */
  readonly hostLoadS: number;
  readonly cases: readonly CaseResult[];
  readonly summary: Summary;
  readonly targets: readonly TargetCheck[];
}

export interface Summary {
  baselineBytes: number | null;
  baselineS: number | null;
  coldBytes: number | null;
  coldS: number | null;
  redeployBytes: number | null;
  redeployS: number | null;
  sameAgainBytes: number | null;
  pullRedeployBytes: number | null;
  hosts1S: number | null;
  hosts8S: number | null;
  newLayer1S: number | null;
  newLayer8S: number | null;
  uplinkBytes8: number | null;
  pulumiChangeS: number | null;
  pulumiNoopS: number | null;
  freshRedeployS: number | null;
  freshRedeployDownloadedBytes: number | null;
  freshRedeploySentBytes: number | null;
  freshColdS: number | null;
  freshColdDownloadedBytes: number | null;
  freshHosts1S: number | null;
  freshHosts8S: number | null;
  /** Resources a `pulumi up` with nothing changed created, updated, replaced or deleted. */
  pulumiNoopChanges: number | null;
}

export interface TargetCheck {
  readonly target: string;
  readonly measured: string;
  /** null when a case it needs did not run. */
  readonly met: boolean | null;
}

function pick(
  cases: readonly CaseResult[],
  id: string,
  field: "bytes" | "uplinkBytes" | "downloadedBytes" | "seconds",
) {
  return cases.find((c) => c.id === id)?.[field] ?? null;
}

/** The last line's object: the figures the issue names, from the cases. */
export function summarize(cases: readonly CaseResult[], pulumiNoopChanges: number | null): Summary {
  return {
    baselineBytes: pick(cases, "baseline", "bytes"),
    baselineS: pick(cases, "baseline", "seconds"),
    coldBytes: pick(cases, "cold", "bytes"),
    coldS: pick(cases, "cold", "seconds"),
    redeployBytes: pick(cases, "redeploy", "bytes"),
    redeployS: pick(cases, "redeploy", "seconds"),
    sameAgainBytes: pick(cases, "same-again", "bytes"),
    pullRedeployBytes: pick(cases, "pull-redeploy", "bytes"),
    hosts1S: pick(cases, "change-1-host", "seconds"),
    hosts8S: pick(cases, "change-8-hosts", "seconds"),
    newLayer1S: pick(cases, "new-layer-1-host", "seconds"),
    newLayer8S: pick(cases, "new-layer-8-hosts", "seconds"),
    uplinkBytes8: pick(cases, "new-layer-8-hosts", "uplinkBytes"),
    pulumiChangeS: pick(cases, "pulumi-change", "seconds"),
    pulumiNoopS: pick(cases, "pulumi-noop", "seconds"),
    freshRedeployS: pick(cases, "fresh-redeploy", "seconds"),
    freshRedeployDownloadedBytes: pick(cases, "fresh-redeploy", "downloadedBytes"),
    freshRedeploySentBytes: pick(cases, "fresh-redeploy", "uplinkBytes"),
    freshColdS: pick(cases, "fresh-cold", "seconds"),
    freshColdDownloadedBytes: pick(cases, "fresh-cold", "downloadedBytes"),
    freshHosts1S: pick(cases, "fresh-change-1-host", "seconds"),
    freshHosts8S: pick(cases, "fresh-change-8-hosts", "seconds"),
    pulumiNoopChanges,
  };
}

const fixed = (n: number, digits = 2) => n.toFixed(digits);

/** The targets against the figures; `met` is null where a figure is missing. */
export function checkTargets(
  s: Summary,
  context: {
    compressedBytes: number;
    rateMbit: number;
    hostLoadS: number;
    newLayerMiB: number;
    newLayerUplink1: number | null;
    /** The changed layer as the registry stores it, and the manifest and config read with it. */
    changedLayerRegistryBytes: number;
    manifestBytes: number;
  },
): TargetCheck[] {
  const check = (
    target: string,
    values: (number | null)[],
    measure: () => [string, boolean],
  ): TargetCheck => {
    if (values.some((v) => v === null)) return { target, measured: "not measured", met: null };
    const [measured, met] = measure();
    return { target, measured, met };
  };
  const coldBound = (context.compressedBytes * 8) / (context.rateMbit * 1e6) + context.hostLoadS;
  return [
    check(
      "one-file-change redeploy: <= 0.1 % of the baseline's bytes",
      [s.redeployBytes, s.baselineBytes],
      () => {
        const share = (100 * s.redeployBytes!) / s.baselineBytes!;
        return [`${fixed(share, 4)} %`, share <= 0.1];
      },
    ),
    check("one-file-change redeploy: >= 30x faster than the baseline", [s.redeployS, s.baselineS], () => {
      const factor = s.baselineS! / s.redeployS!;
      return [`${fixed(factor, 1)}x`, factor >= 30];
    }),
    ...(
      [
        ["cold delivery", s.coldS],
        ["fresh deployer, cold delivery", s.freshColdS],
      ] as const
    ).map(([what, seconds]) =>
      check(`${what}: <= 1.1 x (compressed bytes / link rate + load time)`, [seconds], () => {
        const ratio = seconds! / coldBound;
        return [`${fixed(ratio)} x (${fixed(seconds!)} s against ${fixed(coldBound)} s)`, ratio <= 1.1];
      }),
    ),
    check(
      "fresh deployer, one-file change: >= 30x faster than the baseline",
      [s.freshRedeployS, s.baselineS],
      () => {
        const factor = s.baselineS! / s.freshRedeployS!;
        return [`${fixed(factor, 1)}x (${fixed(s.freshRedeployS!)} s)`, factor >= 30];
      },
    ),
    check(
      "fresh deployer, one-file change: downloads <= the changed layer + manifests + 64 KiB",
      [s.freshRedeployDownloadedBytes],
      () => {
        const bound = context.changedLayerRegistryBytes + context.manifestBytes + 64 * 1024;
        return [
          `${s.freshRedeployDownloadedBytes} bytes against ${bound}`,
          s.freshRedeployDownloadedBytes! <= bound,
        ];
      },
    ),
    ...(
      [
        ["one-file change", s.hosts8S, s.hosts1S],
        ["fresh deployer, one-file change", s.freshHosts8S, s.freshHosts1S],
      ] as const
    ).map(([what, eight, one]) =>
      check(`${what} to 8 hosts: <= 2 x the time for 1 host`, [eight, one], () => {
        const ratio = eight! / one!;
        return [`${fixed(ratio)} x (${fixed(eight!)} s against ${fixed(one!)} s)`, ratio <= 2];
      }),
    ),
    check(
      `new ${context.newLayerMiB} MiB layer to 8 hosts: <= 2 x the time for 1 host`,
      [s.newLayer8S, s.newLayer1S],
      () => {
        const ratio = s.newLayer8S! / s.newLayer1S!;
        return [`${fixed(ratio)} x`, ratio <= 2];
      },
    ),
    check("new layer to 8 hosts: crosses the uplink once", [s.uplinkBytes8, context.newLayerUplink1], () => {
      const ratio = s.uplinkBytes8! / context.newLayerUplink1!;
      return [`${fixed(ratio)} x the 1-host uplink bytes`, ratio < 1.5];
    }),
    check("pulumi up after a one-file change: <= 5 s", [s.pulumiChangeS], () => [
      `${fixed(s.pulumiChangeS!, 1)} s`,
      s.pulumiChangeS! <= 5,
    ]),
    check("pulumi up with nothing changed: <= 2 s", [s.pulumiNoopS], () => [
      `${fixed(s.pulumiNoopS!, 1)} s`,
      s.pulumiNoopS! <= 2,
    ]),
    check("pulumi up with nothing changed: nothing runs on any host", [s.pulumiNoopChanges], () => [
      `${s.pulumiNoopChanges} resources changed`,
      s.pulumiNoopChanges === 0,
    ]),
  ];
}
