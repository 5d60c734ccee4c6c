/**
 * The benchmark's stage: a registry, the deployer's engine and eight simulated IPv6-only hosts, link
 * shaping with tc, and measuring a step (wall time, bytes that reached the hosts, bytes that left the
 * deployer). The delivery scripts are the very ones `pulumi up` runs.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { FAIL_FUNCTION, hostTagOf, sayFunction, shQuote } from "../components/shell/prelude";
import { registryPullDeliveryScript } from "../components/shell/registryPull";
import { deployerSsh } from "../components/shell/ssh";
import { tarballDeliveryScript } from "../components/shell/tarball";
import { generateEd25519KeyPair } from "../components/sshKeys";
import { DockerEngine, startDockerEngine } from "../local/dockerd";
import { run, RunResult } from "../local/exec";
import { HARNESS_BRIDGE, hostLink, shapeLink } from "../local/hostNetwork";
import { LocalRegistry, startRegistry } from "../local/registry";
import { RegistryTap, startRegistryTap } from "../local/registryTap";
import { SimHost, startSimHost, stopAllSimHosts } from "../local/simhost";

export const APP = "bench";

export interface LabHost {
  readonly sim: SimHost;
  readonly target: { address: string; port: number; user: string; hostKey: string };
}

export interface Step {
  readonly seconds: number;
  readonly bytes: number;
  readonly uplinkBytes: number;
  /** Bytes of registry answers the deployer received (manifests and blobs), through the tap. */
  readonly downloadedBytes: number;
  /**
   * CPU seconds the whole machine was busy during the step (deployer, simulated hosts and anything else
   * running): next to `seconds × cores` it tells a step that waited on the CPU from one that waited on links.
   */
  readonly cpuBusyS: number;
  readonly output: string;
}

/**
 * A fresh deployer: no Docker engine (DOCKER_HOST points nowhere) and an empty blob cache, as a CI runner
 * that did not build the image starts.
 */
export interface StepOptions {
  readonly fresh?: boolean;
}

export class Lab {
  private constructor(
    readonly registry: LocalRegistry,
    /** In front of the registry: what the deployer downloads goes through it and is counted. */
    readonly tap: RegistryTap,
    readonly engine: DockerEngine,
    readonly hosts: readonly LabHost[],
    private readonly key: { privateKey: string },
    /** The deployer's blob cache (HCLOUD_DEPLOY_CACHE), emptied for a fresh-deployer step. */
    private readonly cacheDir: string,
  ) {}

  static async start(hostCount: number): Promise<Lab> {
    const registry = await startRegistry();
    const tap = await startRegistryTap(registry.host);
    const cacheDir = await mkdtemp(path.join(tmpdir(), "hcd-bench-cache-"));
    const engine = await startDockerEngine({ name: "bench-deployer", insecureRegistries: [registry.host] });
    const key = generateEd25519KeyPair("bench-deployer");
    const hosts = await Promise.all(
      Array.from({ length: hostCount }, async (_, i) => {
        const hostKey = generateEd25519KeyPair(`bench${i + 1}`);
        const sim = await startSimHost({
          name: `bench${i + 1}`,
          address: `fd5e:0:0:b${i + 1}::1`,
          authorizedKeys: [key.publicKey],
          hostKey,
          insecureRegistries: [registry.host],
        });
        return { sim, target: { address: sim.address, port: 22, user: "root", hostKey: hostKey.publicKey } };
      }),
    );
    return new Lab(registry, tap, engine, hosts, key, cacheDir);
  }

  async stop(): Promise<void> {
    await stopAllSimHosts();
    await this.engine.stop();
    await this.tap.stop();
    await this.registry.stop();
    await rm(this.cacheDir, { recursive: true, force: true });
  }

  get env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      DOCKER_HOST: this.engine.dockerHost,
      DOCKER_BUILDKIT: "0",
      HCLOUD_DEPLOY_CACHE: this.cacheDir,
    };
  }

  /** The reference as the deployer reads it: through the tap. */
  tapped(ref: string): string {
    return ref.replace(this.registry.host, this.tap.host);
  }

  /** Shapes what reaches each host (`hosts`) or what leaves the deployer (`uplink`); `null` removes it. */
  async shape(where: "hosts" | "uplink", rate: string | null): Promise<void> {
    const links = where === "hosts" ? this.hosts.map((h) => hostLink(h.sim.name)) : [HARNESS_BRIDGE];
    for (const link of links) await shapeLink(link, rate, { burst: "256kb", latency: "400ms" });
  }

  /** Runs `script` on the deployer (bash, key and token on stdin) and measures it. */
  async step(scripts: string[][], label: string, opts: StepOptions = {}): Promise<Step> {
    const env = opts.fresh ? { ...this.env, DOCKER_HOST: "unix:///nonexistent/docker.sock" } : this.env;
    if (opts.fresh) await rm(path.join(this.cacheDir, "blobs"), { recursive: true, force: true });
    this.tap.reset();
    const tx = async (link: string) =>
      Number((await run("cat", [`/sys/class/net/${link}/statistics/tx_bytes`])).stdout);
    const links = this.hosts.map((h) => `hcd-${h.sim.name}`);
    const before = await Promise.all(links.map(tx));
    const uplinkBefore = await tx(HARNESS_BRIDGE);
    const cpuBefore = await cpuBusySeconds();
    const started = performance.now();
    const outputs: string[] = [];
    // Stages run one after another; the scripts of a stage at once (as Pulumi runs independent resources).
    for (const stage of scripts) {
      const results = await Promise.all(stage.map((script) => this.deployer(script, env)));
      for (const result of results) {
        outputs.push(result.stdout + result.stderr);
        if (result.code !== 0) throw new Error(`${label} failed:\n${result.stdout}${result.stderr}`);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const after = await Promise.all(links.map(tx));
    return {
      seconds,
      bytes: after.reduce((sum, b, i) => sum + b - before[i], 0),
      uplinkBytes: (await tx(HARNESS_BRIDGE)) - uplinkBefore,
      downloadedBytes: this.tap.bodyBytes,
      cpuBusyS: Math.round(((await cpuBusySeconds()) - cpuBefore) * 100) / 100,
      output: outputs.join(""),
    };
  }

  deployer(script: string, env = this.env): Promise<RunResult> {
    return run("bash", ["-c", script], {
      env,
      input: `${this.key.privateKey.trimEnd()}\n${this.registry.password}\n`,
      check: false,
    });
  }

  /**
   * What `pulumi up` runs for a tarball app on these hosts: the fan-out (2+ hosts), then each host's. The
   * image is in the registry, so the deployer fetches from it (through the tap) what the hosts lack.
   */
  tarball(ref: string, hosts: readonly LabHost[]): string[][] {
    const registry = { server: this.tap.host, username: this.registry.user };
    const script = (targets: readonly LabHost[], fanOut: boolean) =>
      tarballDeliveryScript({
        app: APP,
        hostTag: hostTagOf(APP, ref),
        imageRef: this.tapped(ref),
        hosts: targets.map((h) => ({ hostName: h.sim.name, target: h.target })),
        registry,
        leaveFailuresToHosts: fanOut,
        // As Delivery does: after a fan-out, ask the host before reading the registry.
        readAhead: fanOut || hosts.length === 1,
      });
    const perHost = hosts.map((h) => script([h], false));
    return hosts.length > 1 ? [[script(hosts, true)], perHost] : [perHost];
  }

  registryPull(ref: string, host: LabHost): string[][] {
    const args = { app: APP, hostName: host.sim.name, hostTag: hostTagOf(APP, ref), imageRef: ref };
    const registry = { server: this.registry.host, username: this.registry.user };
    return [[registryPullDeliveryScript({ ...args, registry, target: host.target })]];
  }

  /** A plain pipeline to one host through the same SSH prelude: `docker save [| zstd] | ssh | docker load`. */
  plain(ref: string, host: LabHost, compressed: boolean): string[][] {
    const pipeline = compressed
      ? `docker save "$ref" | zstd -T0 -3 -q -c | remote 'zstd -dcq | docker load'`
      : `docker save "$ref" | remote 'docker load'`;
    return [
      [
        [
          "set -euo pipefail",
          sayFunction(shQuote(APP), shQuote(host.sim.name)),
          FAIL_FUNCTION,
          deployerSsh(host.target),
          `ref=${shQuote(ref)}`,
          "check_host",
          `${pipeline} > /dev/null`,
        ].join("\n"),
      ],
    ];
  }

  /** Removes every image from the hosts (a cold host). */
  async clear(hosts: readonly LabHost[]): Promise<void> {
    await Promise.all(
      hosts.map((h) =>
        h.sim.exec(
          "docker image ls -aq | xargs -r docker rmi -f > /dev/null; docker image prune -af > /dev/null",
        ),
      ),
    );
  }

  /** Removes one image (by the host tag its delivery gave it) from the hosts; its shared layers stay. */
  async forget(ref: string, hosts: readonly LabHost[]): Promise<void> {
    const tag = hostTagOf(APP, ref);
    await Promise.all(
      hosts.map((h) =>
        h.sim.exec(
          `id=$(docker image inspect --format '{{.Id}}' ${tag} 2>/dev/null) && docker rmi -f "$id" > /dev/null; true`,
        ),
      ),
    );
  }
}

/** Seconds all CPUs spent busy since boot (/proc/stat: everything but idle and iowait, in 1/100 s). */
async function cpuBusySeconds(): Promise<number> {
  const line = (await readFile("/proc/stat", "utf8")).split("\n")[0];
  const [, ...ticks] = line.trim().split(/\s+/).map(Number);
  const idle = ticks[3] + ticks[4];
  return (ticks.reduce((a, b) => a + b, 0) - idle) / 100;
}
