import { decades, renderChart } from "../../../bench/chart";
import type { CaseResult } from "../../../bench/report";

const cases: CaseResult[] = [
  {
    id: "baseline",
    label: "plain docker save | ssh | docker load",
    hosts: 1,
    bytes: 160_000_000,
    uplinkBytes: 160_000_000,
    seconds: 15,
  },
  {
    id: "redeploy",
    label: "this delivery, one-file change",
    hosts: 1,
    bytes: 120_000,
    uplinkBytes: 120_000,
    seconds: 0.5,
  },
  {
    id: "pulumi-noop",
    label: "pulumi up <nothing>",
    hosts: 2,
    bytes: null,
    uplinkBytes: null,
    seconds: null,
    skipped: "no pulumi",
  },
];

test("decades cover every positive value, at least one wide", () => {
  expect(decades([120_000, 160_000_000, 0])).toEqual([5, 9]);
  expect(decades([0.5, 15])).toEqual([-1, 2]);
  expect(decades([100])).toEqual([2, 3]);
  expect(decades([0])).toEqual([0, 1]);
});

describe("the chart", () => {
  const svg = renderChart({ cases, date: "2026-11-30T00:00:00.000Z", mode: "full", rateMbit: 100 });

  test("is one SVG document naming the run", () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).toContain("links 100 Mbit/s, 2026-11-30T00:00:00.000Z (log scales)");
  });

  test("has a bar per measured case and metric, on log scales; skipped cases say so", () => {
    const bars = [...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
    ]);
    expect(bars).toHaveLength(4);
    const [bytesBaseline, bytesRedeploy, secondsBaseline, secondsRedeploy] = bars;
    // 120 kB to 160 MB spans decades 5..9 over 280 px: log10(1.2e5) - 5 = 0.079 of it.
    expect(bytesRedeploy[1]).toBeCloseTo(((Math.log10(120_000) - 5) / 4) * 280, 0);
    expect(bytesBaseline[1]).toBeCloseTo(((Math.log10(160_000_000) - 5) / 4) * 280, 0);
    expect(secondsBaseline[0]).toBeGreaterThan(bytesBaseline[0] + 280);
    expect(secondsRedeploy[1]).toBeLessThan(secondsBaseline[1]);
    expect(svg.match(/class="skipped">skipped</g)).toHaveLength(2);
  });

  test("escapes labels", () => {
    expect(svg).toContain("pulumi up &lt;nothing&gt;");
    expect(svg).not.toContain("<nothing>");
  });
});

test("where the hosts got more than the deployer sent (relays), a thin bar shows what it sent", () => {
  const fanOut: CaseResult = {
    id: "new-layer-8-hosts",
    label: "8 hosts",
    hosts: 8,
    bytes: 400_000_000,
    uplinkBytes: 50_000_000,
    seconds: 9,
  };
  const svg = renderChart({ cases: [...cases, fanOut], date: "d", mode: "full", rateMbit: 100 });
  const thin = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="5"/g)].map((m) =>
    Number(m[1]),
  );
  // Decades 5 (120 kB) to 9 (400 MB) over 280 px.
  expect(thin).toHaveLength(1);
  expect(thin[0]).toBeCloseTo(((Math.log10(50_000_000) - 5) / 4) * 280, 0);
});
