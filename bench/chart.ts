/** The benchmark's chart: per case, bytes and seconds as bars on log scales, one SVG. Pure. */
import type { BenchResults, CaseResult } from "./report";

const ROW = 22;
const LABEL = 360;
const PANEL = 280;
const GAP = 40;
const TOP = 72;

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Decades that hold every positive value: [lowest power of ten, highest power of ten]. */
export function decades(values: readonly number[]): [number, number] {
  const positive = values.filter((v) => v > 0);
  if (positive.length === 0) return [0, 1];
  const low = Math.floor(Math.log10(Math.min(...positive)));
  const high = Math.ceil(Math.log10(Math.max(...positive)));
  return [low, high === low ? low + 1 : high];
}

function byteLabel(power: number): string {
  const units = ["B", "kB", "MB", "GB"];
  const unit = Math.min(Math.floor(power / 3), units.length - 1);
  return `${10 ** (power - unit * 3)} ${units[Math.max(unit, 0)]}`;
}

function secondLabel(power: number): string {
  return `${Number((10 ** power).toPrecision(1))} s`;
}

interface Panel {
  readonly title: string;
  readonly x: number;
  readonly value: (c: CaseResult) => number | null;
  readonly tick: (power: number) => string;
  readonly color: string;
  /** A second, thin bar where it differs from the first (the bytes that left the deployer). */
  readonly overlay?: { readonly value: (c: CaseResult) => number | null; readonly color: string };
}

function panel(p: Panel, cases: readonly CaseResult[]): string[] {
  const [low, high] = decades(cases.flatMap((c) => [p.value(c) ?? 0, p.overlay?.value(c) ?? 0]));
  const scale = (v: number) => ((Math.log10(v) - low) / (high - low)) * PANEL;
  const height = cases.length * ROW;
  const out = [`<text x="${p.x}" y="${TOP - 34}" class="title">${escape(p.title)}</text>`];
  for (let power = low; power <= high; power++) {
    const x = p.x + scale(10 ** power);
    out.push(
      `<line x1="${x.toFixed(1)}" y1="${TOP - 6}" x2="${x.toFixed(1)}" y2="${TOP + height}" class="grid"/>`,
    );
    out.push(`<text x="${x.toFixed(1)}" y="${TOP - 10}" class="tick">${escape(p.tick(power))}</text>`);
  }
  cases.forEach((c, i) => {
    const v = p.value(c);
    const y = TOP + i * ROW + 4;
    if (v === null) {
      out.push(`<text x="${p.x + 4}" y="${y + 12}" class="skipped">${c.skipped ? "skipped" : "n/a"}</text>`);
    } else {
      const width = v > 0 ? Math.max(scale(v), 1) : 0;
      out.push(
        `<rect x="${p.x}" y="${y}" width="${width.toFixed(1)}" height="${ROW - 8}" fill="${p.color}"><title>${escape(`${c.label}: ${v}`)}</title></rect>`,
      );
      const second = p.overlay?.value(c) ?? null;
      if (p.overlay && second !== null && second > 0 && Math.abs(second - v) > 0.05 * v) {
        out.push(
          `<rect x="${p.x}" y="${y + ROW - 13}" width="${Math.max(scale(second), 1).toFixed(1)}" height="5" fill="${p.overlay.color}"><title>${escape(`${c.label}, from the deployer: ${second}`)}</title></rect>`,
        );
      }
    }
  });
  return out;
}

/** The SVG document for a run's cases. */
export function renderChart(results: Pick<BenchResults, "cases" | "date" | "mode" | "rateMbit">): string {
  const cases = results.cases;
  const width = LABEL + 2 * PANEL + 2 * GAP;
  const height = TOP + cases.length * ROW + 30;
  const lines = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    "<style>.title{font-weight:bold}.tick{fill:#555;font-size:10px;text-anchor:middle}.grid{stroke:#ddd}.skipped{fill:#999;font-style:italic}</style>",
    `<text x="8" y="16" class="title">hcloud-deploy delivery benchmark, ${escape(results.mode)}, links ${results.rateMbit} Mbit/s, ${escape(results.date)} (log scales)</text>`,
    ...cases.map((c, i) => `<text x="8" y="${TOP + i * ROW + 16}">${escape(c.label)}</text>`),
    ...panel(
      {
        title: "bytes to the hosts (dark: from the deployer)",
        x: LABEL,
        value: (c) => c.bytes,
        tick: byteLabel,
        color: "#4878a8",
        overlay: { value: (c) => c.uplinkBytes, color: "#1f3550" },
      },
      cases,
    ),
    ...panel(
      {
        title: "seconds",
        x: LABEL + PANEL + GAP,
        value: (c) => c.seconds,
        tick: secondLabel,
        color: "#d08030",
      },
      cases,
    ),
    "</svg>",
  ];
  return `${lines.join("\n")}\n`;
}
