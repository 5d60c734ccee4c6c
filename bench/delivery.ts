/**
 * Measures delivery on a simulated IPv6-only host and prints the figures (nothing is asserted: this
 * machine is shared and noisy):
 *
 *   npm run bench:delivery -- [--mib 200] [--rate 100mbit]
 *
 * The image carries --mib MiB of real shared libraries from this machine (they compress about as well
 * as an application image does); --rate shapes the link to the host with tc. Reports the tarball path
 * (first delivery, a second one of the same digest) and a registry pull of the same image. Needs root.
 */
import { mkdtemp, readdir, rm, stat, copyFile, mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { hostTagOf } from "../components/shell/prelude";
import { registryPullScript } from "../components/shell/registryPull";
import { tarballDeliveryScript } from "../components/shell/tarball";
import { generateEd25519KeyPair } from "../components/sshKeys";
import { startDockerEngine } from "../local/dockerd";
import { run } from "../local/exec";
import { startRegistry } from "../local/registry";
import { startSimHost, stopAllSimHosts } from "../local/simhost";

const MIB = 1024 * 1024;

/** Fills dir with up to `mib` MiB of shared libraries: realistic, compressible binary content. */
async function fillWithLibraries(dir: string, mib: number): Promise<number> {
  const source = "/usr/lib/x86_64-linux-gnu";
  let total = 0;
  for (const name of (await readdir(source)).sort()) {
    if (total >= mib * MIB) break;
    const file = path.join(source, name);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile() || !name.includes(".so")) continue;
    await copyFile(file, path.join(dir, name));
    total += info.size;
  }
  return total;
}

async function bytesSent(link: string): Promise<number> {
  return Number((await run("cat", [`/sys/class/net/${link}/statistics/tx_bytes`])).stdout);
}

/** Runs the delivery benchmark (argv as after the script name) and prints its figures. */
export async function benchDelivery(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: { mib: { type: "string", default: "200" }, rate: { type: "string" } },
  });
  const mib = Number(values.mib);
  const work = await mkdtemp(path.join(tmpdir(), "hcd-bench-"));
  const registry = await startRegistry();
  const engine = await startDockerEngine({ name: "bench-deployer", insecureRegistries: [registry.host] });
  const env = { ...process.env, DOCKER_HOST: engine.dockerHost, DOCKER_BUILDKIT: "0" };
  const deployer = generateEd25519KeyPair("bench-deployer");
  const hostKey = generateEd25519KeyPair("bench-host");
  try {
    const host = await startSimHost({
      name: "bench",
      address: "fd5e:0:0:b1::1",
      authorizedKeys: [deployer.publicKey],
      hostKey,
      insecureRegistries: [registry.host],
    });
    const link = `hcd-${host.name}`;
    if (values.rate) {
      await run("tc", [
        "qdisc",
        "add",
        "dev",
        link,
        "root",
        "tbf",
        "rate",
        values.rate,
        "burst",
        "256kb",
        "latency",
        "400ms",
      ]);
    }

    const context = path.join(work, "context");
    await mkdir(path.join(context, "payload"), { recursive: true });
    const payload = await fillWithLibraries(path.join(context, "payload"), mib);
    await copyFile("/bin/busybox", path.join(context, "busybox"));
    await writeFile(
      path.join(context, "Dockerfile"),
      "FROM scratch\nCOPY busybox /bin/busybox\nCOPY payload /payload\n",
    );
    await run("docker", ["build", "-q", "-t", `${registry.host}/bench/app:v1`, context], { env });
    const dockerConfig = path.join(work, "docker-config");
    await run("docker", ["login", "-u", registry.user, "--password-stdin", registry.host], {
      env: { ...env, DOCKER_CONFIG: dockerConfig },
      input: registry.password,
    });
    await run("docker", ["push", `${registry.host}/bench/app:v1`], {
      env: { ...env, DOCKER_CONFIG: dockerConfig },
    });
    const ref = (
      await run(
        "docker",
        ["image", "inspect", "--format", "{{index .RepoDigests 0}}", `${registry.host}/bench/app:v1`],
        { env },
      )
    ).stdout.trim();
    const size = Number(
      (await run("docker", ["image", "inspect", "--format", "{{.Size}}", ref], { env })).stdout,
    );

    const image = { app: "bench", hostName: host.name, hostTag: hostTagOf("bench", ref) };
    const target = { address: host.address, port: 22, user: "root", hostKey: hostKey.publicKey };
    const deliver = async () => {
      const before = await bytesSent(link);
      const started = Date.now();
      const result = await run(
        "bash",
        [
          "-c",
          tarballDeliveryScript({
            ...image,
            target,
            imageRef: ref,
            registry: { server: registry.host, username: registry.user },
          }),
        ],
        { env, input: `${deployer.privateKey}\n` },
      );
      return {
        seconds: (Date.now() - started) / 1000,
        bytes: (await bytesSent(link)) - before,
        log: result.stdout,
      };
    };

    const first = await deliver();
    const second = await deliver();
    await host.exec(`docker rmi ${image.hostTag} >/dev/null`);
    const pullStarted = Date.now();
    const pullBefore = await bytesSent(link);
    await host.exec(
      registryPullScript({
        ...image,
        imageRef: ref,
        registry: { server: registry.host, username: registry.user },
      }),
      {
        input: registry.password,
      },
    );
    const pull = { seconds: (Date.now() - pullStarted) / 1000, bytes: (await bytesSent(link)) - pullBefore };

    const mb = (bytes: number) => (bytes / MIB).toFixed(1);
    const rate = (bytes: number, seconds: number) => `${(bytes / MIB / seconds).toFixed(1)} MiB/s`;
    console.log(
      `image: ${mb(size)} MiB unpacked (${mb(payload)} MiB of shared libraries), link: ${values.rate ?? "unshaped veth"}`,
    );
    console.log(
      `tarball, first delivery:   ${mb(first.bytes)} MiB on the wire, ${first.seconds.toFixed(1)} s, ${rate(first.bytes, first.seconds)}, ratio ${(size / first.bytes).toFixed(2)}x`,
    );
    console.log(
      `tarball, same digest again: ${(second.bytes / 1024).toFixed(1)} KiB on the wire, ${second.seconds.toFixed(1)} s`,
    );
    console.log(
      `registry pull:              ${mb(pull.bytes)} MiB on the wire, ${pull.seconds.toFixed(1)} s, ${rate(pull.bytes, pull.seconds)}`,
    );
    console.log("delivery output:\n" + first.log.trim());
  } finally {
    await stopAllSimHosts();
    await engine.stop();
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }
}
