import { changedResources, stepSeconds } from "../../../bench/pulumiCases";
import { CaseResult, checkTargets, summarize } from "../../../bench/report";

const measured = (
  id: string,
  bytes: number,
  seconds: number,
  uplinkBytes = bytes,
  downloadedBytes?: number,
): CaseResult => ({
  id,
  label: id,
  hosts: 1,
  bytes,
  uplinkBytes,
  seconds,
  ...(downloadedBytes === undefined ? {} : { downloadedBytes }),
});

const CASES: CaseResult[] = [
  measured("baseline", 160_000_000, 15),
  measured("cold", 50_000_000, 6),
  measured("redeploy", 120_000, 0.4),
  measured("same-again", 5_000, 0.2),
  measured("pull-redeploy", 100_000, 0.5),
  measured("change-1-host", 120_000, 1),
  measured("change-8-hosts", 900_000, 1.5),
  measured("new-layer-1-host", 52_000_000, 5),
  measured("new-layer-8-hosts", 420_000_000, 9, 53_000_000),
  measured("fresh-redeploy", 125_000, 0.45, 125_000, 110_000),
  measured("fresh-cold", 52_000_000, 6.5, 52_000_000, 53_000_000),
  measured("fresh-change-1-host", 125_000, 1.1),
  measured("fresh-change-8-hosts", 950_000, 2.5),
  measured("pulumi-change", 2_000_000, 4),
  measured("pulumi-noop", 0, 6),
];

describe("the summary on the last line", () => {
  test("names every figure the issue asks for, from the cases with those ids", () => {
    expect(summarize(CASES, 0)).toEqual({
      baselineBytes: 160_000_000,
      baselineS: 15,
      coldBytes: 50_000_000,
      coldS: 6,
      redeployBytes: 120_000,
      redeployS: 0.4,
      sameAgainBytes: 5_000,
      pullRedeployBytes: 100_000,
      hosts1S: 1,
      hosts8S: 1.5,
      newLayer1S: 5,
      newLayer8S: 9,
      uplinkBytes8: 53_000_000,
      pulumiChangeS: 4,
      pulumiNoopS: 6,
      freshRedeployS: 0.45,
      freshRedeployDownloadedBytes: 110_000,
      freshRedeploySentBytes: 125_000,
      freshColdS: 6.5,
      freshColdDownloadedBytes: 53_000_000,
      freshHosts1S: 1.1,
      freshHosts8S: 2.5,
      pulumiNoopChanges: 0,
    });
  });

  test("a case that did not run gives null, not zero", () => {
    const summary = summarize([measured("baseline", 1, 1)], null);
    expect([summary.baselineBytes, summary.coldS, summary.pulumiNoopChanges]).toEqual([1, null, null]);
  });
});

describe("targets", () => {
  const context = {
    compressedBytes: 50_000_000,
    rateMbit: 100,
    hostLoadS: 2,
    newLayerMiB: 50,
    newLayerUplink1: 52_000_000,
    changedLayerRegistryBytes: 100_000,
    manifestBytes: 5_000,
  };

  test("each target with its measured figure, met or missed", () => {
    expect(checkTargets(summarize(CASES, 0), context)).toEqual([
      {
        target: "one-file-change redeploy: <= 0.1 % of the baseline's bytes",
        measured: "0.0750 %",
        met: true,
      },
      { target: "one-file-change redeploy: >= 30x faster than the baseline", measured: "37.5x", met: true },
      {
        target: "cold delivery: <= 1.1 x (compressed bytes / link rate + load time)",
        // 50 MB at 100 Mbit/s is 4 s, plus 2 s of loading.
        measured: "1.00 x (6.00 s against 6.00 s)",
        met: true,
      },
      {
        target: "fresh deployer, cold delivery: <= 1.1 x (compressed bytes / link rate + load time)",
        measured: "1.08 x (6.50 s against 6.00 s)",
        met: true,
      },
      {
        target: "fresh deployer, one-file change: >= 30x faster than the baseline",
        measured: "33.3x (0.45 s)",
        met: true,
      },
      {
        // 100,000 + 5,000 + 65,536.
        target: "fresh deployer, one-file change: downloads <= the changed layer + manifests + 64 KiB",
        measured: "110000 bytes against 170536",
        met: true,
      },
      {
        target: "one-file change to 8 hosts: <= 2 x the time for 1 host",
        measured: "1.50 x (1.50 s against 1.00 s)",
        met: true,
      },
      {
        target: "fresh deployer, one-file change to 8 hosts: <= 2 x the time for 1 host",
        measured: "2.27 x (2.50 s against 1.10 s)",
        met: false,
      },
      { target: "new 50 MiB layer to 8 hosts: <= 2 x the time for 1 host", measured: "1.80 x", met: true },
      {
        target: "new layer to 8 hosts: crosses the uplink once",
        measured: "1.02 x the 1-host uplink bytes",
        met: true,
      },
      { target: "pulumi up after a one-file change: <= 5 s", measured: "4.0 s", met: true },
      { target: "pulumi up with nothing changed: <= 2 s", measured: "6.0 s", met: false },
      {
        target: "pulumi up with nothing changed: nothing runs on any host",
        measured: "0 resources changed",
        met: true,
      },
    ]);
  });

  test("a slow redeploy and an 8-host stream sent eight times are misses", () => {
    const slow = CASES.map((c) =>
      c.id === "redeploy"
        ? measured("redeploy", 120_000, 2)
        : c.id === "new-layer-8-hosts"
          ? measured(c.id, 1, 9, 416_000_000)
          : c,
    );
    const checks = checkTargets(summarize(slow, 3), context);
    expect(checks.filter((c) => c.met === false).map((c) => [c.target.split(":")[0], c.measured])).toEqual([
      ["one-file-change redeploy", "7.5x"],
      ["fresh deployer, one-file change to 8 hosts", "2.27 x (2.50 s against 1.10 s)"],
      ["new layer to 8 hosts", "8.00 x the 1-host uplink bytes"],
      ["pulumi up with nothing changed", "6.0 s"],
      ["pulumi up with nothing changed", "3 resources changed"],
    ]);
  });

  test("targets whose cases were skipped are neither met nor missed", () => {
    const checks = checkTargets(summarize(CASES.slice(0, 3), null), context);
    expect(checks.filter((c) => c.met === null).map((c) => c.measured)).toEqual(
      Array(10).fill("not measured"),
    );
  });
});

test("changes are counted from pulumi's resource summary", () => {
  const output =
    "Updating (local)\n...\nResources:\n    ~ 2 updated\n    +-1 replaced\n    3 changes. 9 unchanged\n\nDuration: 12s\n";
  expect(changedResources(output)).toBe(3);
  expect(changedResources("Resources:\n    12 unchanged\n\nDuration: 4s\n")).toBe(0);
});

test("the seconds of each changed resource come from pulumi's progress lines", () => {
  const output = [
    " ++ command:local:Command web-fan-out-ship created replacement (0.58s) [diff: ~environment,triggers]; hcloud-deploy: …",
    " +- command:local:Command web-fan-out-ship replaced (0.00s) [diff: ~environment,triggers]",
    " ++ command:remote:Command web-on-local-1-service-run created replacement (11s) [diff: ~create]",
    " ~  command:local:Command web-on-local-1-delivery-load updated (0.7s) [diff: ~environment]",
    " -- command:local:Command web-fan-out-ship deleted original (0.02s)",
    " ~  hcloud:index:Server local-1-server refreshing (0s)",
  ].join("\n");
  expect(stepSeconds(output)).toEqual({
    "web-fan-out-ship": 0.58,
    "web-on-local-1-service-run": 11,
    "web-on-local-1-delivery-load": 0.7,
  });
});
