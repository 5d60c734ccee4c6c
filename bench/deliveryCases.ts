/** The delivery cases of the benchmark (issue 10), on the lab's simulated hosts. */
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { run } from "../local/exec";
import { buildBenchImages, Log } from "./image";
import { Lab, LabHost, Step, StepOptions } from "./lab";
import type { BenchResults, CaseResult } from "./report";

export interface DeliveryRun {
  readonly cases: CaseResult[];
  readonly image: BenchResults["image"];
  readonly hostLoadS: number;
}

const LAYER_NAMES = {
  full: ["debian minbase", "python3", "app"],
  quick: ["libraries", "more libraries", "app"],
};

async function push(lab: Lab, tag: string, name: string): Promise<string> {
  const reference = `${lab.registry.host}/bench/app:${name}`;
  const config = await mkdtemp(path.join(tmpdir(), "hcd-bench-docker-"));
  try {
    const env = { ...lab.env, DOCKER_CONFIG: config };
    await run("docker", ["login", "-u", lab.registry.user, "--password-stdin", lab.registry.host], {
      env,
      input: lab.registry.password,
    });
    await run("docker", ["tag", tag, reference], { env });
    await run("docker", ["push", "-q", reference], { env });
  } finally {
    await rm(config, { recursive: true, force: true });
  }
  return (
    await run("docker", ["image", "inspect", "--format", "{{index .RepoDigests 0}}", reference], {
      env: lab.env,
    })
  ).stdout.trim();
}

/** Layer sizes of the image, its compressed size, and the compressed size of its top layer. */
async function imageFigures(
  lab: Lab,
  ref: string,
  quick: boolean,
): Promise<Omit<BenchResults["image"], "changedLayerRegistryBytes" | "manifestBytes">> {
  const dir = await mkdtemp(path.join(tmpdir(), "hcd-bench-save-"));
  try {
    const started = performance.now();
    await run("bash", ["-c", 'docker save "$0" | tar -x -C "$1"', ref, dir], { env: lab.env });
    const saveS = (performance.now() - started) / 1000;
    const [manifest] = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8")) as {
      Layers: string[];
    }[];
    const sizes = await Promise.all(manifest.Layers.map(async (l) => (await stat(path.join(dir, l))).size));
    const names = quick ? LAYER_NAMES.quick : LAYER_NAMES.full;
    const zstdSize = async (command: string, ...args: string[]) =>
      Number(
        (await run("bash", ["-c", `${command} | zstd -T0 -3 -q -c | wc -c`, ...args], { env: lab.env }))
          .stdout,
      );
    return {
      layers: sizes.slice(-3).map((bytes, i) => ({ name: names[i], bytes })),
      bytes: sizes.reduce((a, b) => a + b, 0),
      compressedBytes: await zstdSize('docker save "$0"', ref),
      saveS,
      changedLayerCompressedBytes: await zstdSize(
        'cat "$0"',
        path.join(dir, manifest.Layers[manifest.Layers.length - 1]),
      ),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The top layer as the registry stores it, and the manifest and config a delivery reads before it. */
async function registryFigures(lab: Lab, ref: string) {
  const [, digest] = ref.split("@");
  const auth = `Basic ${Buffer.from(`${lab.registry.user}:${lab.registry.password}`).toString("base64")}`;
  const get = async (what: string, accept: string) => {
    const url = `http://${lab.tap.host}/v2/bench/app/${what}`;
    const response = await fetch(url, { headers: { Authorization: auth, Accept: accept } });
    if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  };
  const manifestBody = await get(
    `manifests/${digest}`,
    "application/vnd.docker.distribution.manifest.v2+json",
  );
  const manifest = JSON.parse(manifestBody.toString("utf8")) as {
    config: { size: number };
    layers: { size: number }[];
  };
  return {
    changedLayerRegistryBytes: manifest.layers[manifest.layers.length - 1].size,
    manifestBytes: manifestBody.length + manifest.config.size,
  };
}

/** Seconds a host takes to load the whole image from a compressed archive already on its disk. */
async function hostLoadSeconds(lab: Lab, ref: string): Promise<number> {
  const host = lab.hosts[1];
  const archive = await run("bash", ["-c", 'docker save "$0" | zstd -T0 -3 -q -c | base64 -w0', ref], {
    env: lab.env,
  });
  await host.sim.exec("base64 -d > /var/tmp/bench.zst", { input: archive.stdout });
  const timed = await host.sim.exec(
    "s=$(date +%s.%N); zstd -dcq /var/tmp/bench.zst | docker load > /dev/null; e=$(date +%s.%N); rm /var/tmp/bench.zst; awk -v s=$s -v e=$e 'BEGIN { print e - s }'",
  );
  await lab.clear([host]);
  return Number(timed.stdout.trim());
}

export async function runDeliveryCases(
  lab: Lab,
  opts: { quick: boolean; rate: string; newLayerMiB: number; log: Log },
): Promise<DeliveryRun> {
  const { quick, log } = opts;
  const context = await mkdtemp(path.join(tmpdir(), "hcd-bench-image-"));
  const cases: CaseResult[] = [];
  try {
    log(`building the ${quick ? "quick" : "realistic"} image`);
    const images = await buildBenchImages(lab.engine.dockerHost, context, quick, log);
    const [v1, v2] = [await push(lab, images.v1, "v1"), await push(lab, images.v2, "v2")];
    const image = { ...(await imageFigures(lab, v2, quick)), ...(await registryFigures(lab, v2)) };
    // The median of `runs` runs (the machine is shared: one run can be slow for reasons of its own);
    // `undo` puts the hosts back as they were before each further run.
    const runs = quick ? 1 : 3;
    const measure = async (
      id: string,
      label: string,
      hosts: number,
      scripts: string[][],
      undo?: () => Promise<void>,
      opts: StepOptions = {},
    ) => {
      const steps: Step[] = [];
      for (let i = 0; i < (undo ? runs : 1); i++) {
        if (i > 0) await undo!();
        steps.push(await lab.step(scripts, label, opts));
      }
      const times = steps.map((s) => s.seconds.toFixed(2)).join(", ");
      const step = [...steps].sort((a, b) => a.seconds - b.seconds)[Math.floor(steps.length / 2)];
      const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(3);
      log(
        `${label}: ${mib(step.bytes)} MiB to the hosts, ${mib(step.uplinkBytes)} MiB from the deployer, ` +
          `${mib(step.downloadedBytes)} MiB from the registry, ${step.seconds.toFixed(2)} s (runs: ${times}), ` +
          `CPU busy ${step.cpuBusyS.toFixed(2)} s of ${(step.seconds * cpus().length).toFixed(2)}`,
      );
      const { bytes, uplinkBytes, downloadedBytes, cpuBusyS, seconds } = step;
      cases.push({ id, label, hosts, bytes, uplinkBytes, downloadedBytes, cpuBusyS, seconds });
    };
    const [h1, h2] = lab.hosts;
    await lab.shape("hosts", opts.rate);

    await measure("baseline", "plain docker save | ssh | docker load", 1, lab.plain(v1, h1, false));
    await lab.clear([h1]);
    await measure("zstd-archive", "full archive, zstd, over ssh", 1, lab.plain(v1, h1, true));
    await lab.clear([h1]);
    const hostLoadS = await hostLoadSeconds(lab, v1);
    await measure("cold", "this delivery, cold host", 1, lab.tarball(v1, [h1]));
    const again = (ref: string, hosts: readonly LabHost[]) => () => lab.forget(ref, hosts);
    await measure("redeploy", "this delivery, one-file change", 1, lab.tarball(v2, [h1]), again(v2, [h1]));
    await measure("same-again", "this delivery, same digest again", 1, lab.tarball(v2, [h1]));
    // A fresh deployer (no engine, empty blob cache), as a CI runner that did not build the image.
    const fresh = { fresh: true };
    await lab.forget(v2, [h1]);
    await measure(
      "fresh-redeploy",
      "fresh deployer, one-file change",
      1,
      lab.tarball(v2, [h1]),
      again(v2, [h1]),
      fresh,
    );
    await lab.clear([h1]);
    await measure("fresh-cold", "fresh deployer, cold host", 1, lab.tarball(v1, [h1]), undefined, fresh);
    await measure("pull-cold", "registry pull, cold host", 1, lab.registryPull(v1, h2));
    await measure(
      "pull-redeploy",
      "registry pull, one-file change",
      1,
      lab.registryPull(v2, h2),
      again(v2, [h2]),
    );

    log(`putting v1 on all ${lab.hosts.length} hosts`);
    await lab.forget(v2, [h1, h2]);
    await lab.step(lab.tarball(v1, lab.hosts), "v1 everywhere");
    for (const count of quick ? [1, 8] : [1, 4, 8]) {
      const hosts = lab.hosts.slice(0, count);
      const plural = count > 1 ? "s" : "";
      const label = `one-file change to ${count} host${plural}`;
      await measure(`change-${count}-host${plural}`, label, count, lab.tarball(v2, hosts), again(v2, hosts));
      await lab.forget(v2, hosts);
      if (count === 4) continue;
      const fresh = { fresh: true };
      const freshLabel = `fresh deployer, one-file change to ${count} host${plural}`;
      const scripts = lab.tarball(v2, hosts);
      await measure(
        `fresh-change-${count}-host${plural}`,
        freshLabel,
        count,
        scripts,
        again(v2, hosts),
        fresh,
      );
      if (count < 8) await lab.forget(v2, hosts);
    }

    await lab.shape("hosts", null);
    await lab.shape("uplink", opts.rate);
    const mb = `${opts.newLayerMiB} MiB`;
    const one = await push(lab, await images.newLayer("bench/app:new-layer-1", opts.newLayerMiB), "nl1");
    const eight = await push(lab, await images.newLayer("bench/app:new-layer-8", opts.newLayerMiB), "nl8");
    const layerTo = (n: number) => `new ${mb} layer to ${n} host${n > 1 ? "s" : ""}, uplink shaped`;
    await measure("new-layer-1-host", layerTo(1), 1, lab.tarball(one, [h1]), again(one, [h1]));
    await measure("new-layer-8-hosts", layerTo(8), 8, lab.tarball(eight, lab.hosts), again(eight, lab.hosts));
    await lab.shape("uplink", null);
    return { cases, image, hostLoadS };
  } finally {
    await lab.shape("hosts", null);
    await lab.shape("uplink", null);
    await rm(context, { recursive: true, force: true });
  }
}
