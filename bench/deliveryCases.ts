/** The delivery cases of the benchmark (issue 10), on the lab's simulated hosts. */
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { run } from "../local/exec";
import { buildBenchImages, Log } from "./image";
import { Lab, Step } from "./lab";
import type { BenchResults, CaseResult } from "./results";

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
async function imageFigures(lab: Lab, ref: string, quick: boolean): Promise<BenchResults["image"]> {
  const dir = await mkdtemp(path.join(tmpdir(), "hcd-bench-save-"));
  try {
    await run("bash", ["-c", 'docker save "$0" | tar -x -C "$1"', ref, dir], { env: lab.env });
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
      changedLayerCompressedBytes: await zstdSize(
        'cat "$0"',
        path.join(dir, manifest.Layers[manifest.Layers.length - 1]),
      ),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
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
    const image = await imageFigures(lab, v2, quick);
    const measure = async (id: string, label: string, hosts: number, scripts: string[][]) => {
      const step: Step = await lab.step(scripts, label);
      log(
        `${label}: ${(step.bytes / 2 ** 20).toFixed(3)} MiB to the hosts, ${(step.uplinkBytes / 2 ** 20).toFixed(3)} MiB from the deployer, ${step.seconds.toFixed(2)} s`,
      );
      cases.push({
        id,
        label,
        hosts,
        bytes: step.bytes,
        uplinkBytes: step.uplinkBytes,
        seconds: step.seconds,
      });
    };
    const [h1, h2] = lab.hosts;
    await lab.shape("hosts", opts.rate);

    await measure("baseline", "plain docker save | ssh | docker load", 1, lab.plain(v1, h1, false));
    await lab.clear([h1]);
    await measure("zstd-archive", "full archive, zstd, over ssh", 1, lab.plain(v1, h1, true));
    await lab.clear([h1]);
    const hostLoadS = await hostLoadSeconds(lab, v1);
    await measure("cold", "this delivery, cold host", 1, lab.tarball(v1, [h1]));
    await measure("redeploy", "this delivery, one-file change", 1, lab.tarball(v2, [h1]));
    await measure("same-again", "this delivery, same digest again", 1, lab.tarball(v2, [h1]));
    await measure("pull-cold", "registry pull, cold host", 1, lab.registryPull(v1, h2));
    await measure("pull-redeploy", "registry pull, one-file change", 1, lab.registryPull(v2, h2));

    log(`putting v1 on all ${lab.hosts.length} hosts`);
    await lab.forget(v2, [h1, h2]);
    await lab.step(lab.tarball(v1, lab.hosts), "v1 everywhere");
    for (const count of quick ? [1, 8] : [1, 4, 8]) {
      const hosts = lab.hosts.slice(0, count);
      await measure(
        `change-${count}-host${count > 1 ? "s" : ""}`,
        `one-file change to ${count} host${count > 1 ? "s" : ""}`,
        count,
        lab.tarball(v2, hosts),
      );
      if (count < 8) await lab.forget(v2, hosts);
    }

    await lab.shape("hosts", null);
    await lab.shape("uplink", opts.rate);
    const one = await images.newLayer("bench/app:new-layer-1", opts.newLayerMiB);
    const eight = await images.newLayer("bench/app:new-layer-8", opts.newLayerMiB);
    const mb = `${opts.newLayerMiB} MiB`;
    await measure(
      "new-layer-1-host",
      `new ${mb} layer to 1 host, uplink shaped`,
      1,
      lab.tarball(await push(lab, one, "nl1"), [h1]),
    );
    await measure(
      "new-layer-8-hosts",
      `new ${mb} layer to 8 hosts, uplink shaped`,
      8,
      lab.tarball(await push(lab, eight, "nl8"), lab.hosts),
    );
    await lab.shape("uplink", null);
    return { cases, image, hostLoadS };
  } finally {
    await lab.shape("hosts", null);
    await lab.shape("uplink", null);
    await rm(context, { recursive: true, force: true });
  }
}
