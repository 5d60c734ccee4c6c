/**
 * The delivery benchmark (usage in docs/benchmark.md):
 *
 *   npm run bench [-- --quick] [--rate 100mbit] [--out bench]
 *
 * Builds the image offline, measures every case on simulated IPv6-only hosts with the links shaped, writes
 * <out>/results.json and <out>/results.svg, prints the targets, and as its last line one JSON object with
 * the summary. Timings are machine-dependent (the machine here is shared); bytes are not. Needs root.
 */
import { writeFile } from "node:fs/promises";
import { cpus, release } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { run } from "../local/exec";
import { renderChart } from "./chart";
import { runDeliveryCases } from "./deliveryCases";
import { Lab } from "./lab";
import { runPulumiCases } from "./pulumiCases";
import { BenchResults, checkTargets, summarize } from "./report";

const HOSTS = 8;

export async function bench(argv: readonly string[]): Promise<BenchResults> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: "boolean", default: false },
      rate: { type: "string", default: "100mbit" },
      out: { type: "string", default: path.resolve(__dirname) },
    },
  });
  const quick = values.quick as boolean;
  const rate = values.rate as string;
  const rateMbit = Number(/^(\d+)mbit$/.exec(rate)?.[1] ?? NaN);
  if (!Number.isFinite(rateMbit)) throw new Error(`--rate must be <n>mbit, got ${rate}`);
  const started = Date.now();
  const newLayerMiB = quick ? 10 : 50;
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
  log(`${quick ? "quick" : "full"} run, links at ${rate}`);

  const lab = await Lab.start(HOSTS);
  let delivery;
  try {
    delivery = await runDeliveryCases(lab, { quick, rate, newLayerMiB, log });
  } finally {
    await lab.stop();
  }
  const pulumiRun = quick ? { cases: [], noopChanges: null } : await runPulumiCases(log);
  const cases = [...delivery.cases, ...pulumiRun.cases];
  const summary = summarize(cases, pulumiRun.noopChanges);
  const results: BenchResults = {
    schema: 1,
    date: new Date().toISOString(),
    mode: quick ? "quick" : "full",
    rateMbit,
    machine: {
      cpus: cpus().length,
      kernel: release(),
      docker: (await run("dockerd", ["--version"])).stdout.trim(),
    },
    image: delivery.image,
    hostLoadS: delivery.hostLoadS,
    cases,
    summary,
    targets: checkTargets(summary, {
      compressedBytes: delivery.image.compressedBytes,
      rateMbit,
      hostLoadS: delivery.hostLoadS,
      newLayerMiB,
      newLayerUplink1: cases.find((c) => c.id === "new-layer-1-host")?.uplinkBytes ?? null,
      changedLayerRegistryBytes: delivery.image.changedLayerRegistryBytes,
      manifestBytes: delivery.image.manifestBytes,
    }),
  };
  const out = values.out as string;
  await writeFile(path.join(out, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(path.join(out, "results.svg"), renderChart(results));
  log(
    `wrote ${path.join(out, "results.json")} and results.svg after ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  if (quick)
    log("the targets are set for the full run's image; a quick run's small image shows its overheads");
  for (const t of results.targets)
    log(`target ${t.met === null ? "n/a " : t.met ? "met " : "MISS"} ${t.target}: ${t.measured}`);
  return results;
}
