import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { hostTagOf } from "../../components/shell/prelude";
import { knownHostsLine } from "../../components/shell/ssh";
import { tarballDeliveryScript } from "../../components/shell/tarball";
import { generateEd25519KeyPair } from "../../components/sshKeys";
import { DockerEngine } from "../../local/dockerd";
import { run, RunResult } from "../../local/exec";
import { HARNESS_BRIDGE } from "../../local/hostNetwork";
import { buildHttpImage } from "../../local/images";
import { SimHost, SimHostSpec, startSimHost } from "../../local/simhost";
import { TEST_HOST_RELEASE } from "../support/hostRelease";

/** The deployer's key pair, generated the way the program generates host keys. */
export const deployerKey = generateEd25519KeyPair("deployer@integration");

export interface TestHost {
  readonly sim: SimHost;
  readonly address: string;
  /** Pinned host key line, as HetznerHost exports it. */
  readonly hostKey: string;
  readonly target: { address: string; port: number; user: string; hostKey: string };
}

/**
 * A simulated host whose sshd runs with a host key from generateEd25519KeyPair, like a real one; it boots
 * TEST_HOST_RELEASE unless `extra` names a release.
 */
export async function startTestHost(
  name: string,
  address: string,
  insecureRegistries: string[],
  extra: Pick<SimHostSpec, "dockerDataMiB" | "resolvers" | "architecture" | "release"> = {},
): Promise<TestHost> {
  const hostKey = generateEd25519KeyPair(`${name}-integration`);
  const sim = await startSimHost({
    name,
    address,
    authorizedKeys: [deployerKey.publicKey],
    hostKey,
    insecureRegistries,
    release: TEST_HOST_RELEASE,
    ...extra,
  });
  return {
    sim,
    address,
    hostKey: hostKey.publicKey,
    target: { address, port: 22, user: "root", hostKey: hostKey.publicKey },
  };
}

/**
 * Runs a script on a host the way pulumi-command's remote.Command does: one SSH exec of the script
 * text, stdin piped, host key pinned. Never rejects; callers assert on the exit code.
 */
export async function runOnHost(
  host: TestHost,
  script: string,
  stdin: string | Buffer = "",
): Promise<RunResult> {
  const dir = await mkdtemp(path.join(tmpdir(), "hcd-it-ssh-"));
  try {
    await writeFile(path.join(dir, "id"), deployerKey.privateKey, { mode: 0o600 });
    await writeFile(path.join(dir, "known_hosts"), `${knownHostsLine(host.target)}\n`);
    return await run(
      "ssh",
      [
        ...["-i", path.join(dir, "id"), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"],
        ...["-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${path.join(dir, "known_hosts")}`],
        `root@${host.address}`,
        script,
      ],
      { input: stdin, check: false },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs a deployer-side script the way local.Command does (bash -c, stdin piped) against an engine. */
export function runOnDeployer(engine: DockerEngine, script: string, stdin: string): Promise<RunResult> {
  return run("bash", ["-c", script], {
    input: stdin,
    check: false,
    env: { ...process.env, DOCKER_HOST: engine.dockerHost },
  });
}

/** Bytes the root namespace has sent towards a host over its veth (what a transfer costs). */
export async function bytesSentTo(host: TestHost): Promise<number> {
  const result = await run("cat", [`/sys/class/net/hcd-${host.sim.name}/statistics/tx_bytes`]);
  return Number(result.stdout.trim());
}

/** GET over IPv6 from the root namespace, as a client on the internet would. */
export async function httpGet(address: string, port: number, urlPath = "/"): Promise<string> {
  const result = await run(
    "curl",
    ["-sS", "-g", "--max-time", "5", `http://[${address}]:${port}${urlPath}`],
    {
      check: false,
    },
  );
  return result.code === 0 ? result.stdout : `curl failed (${result.code}): ${result.stderr.trim()}`;
}

/** The digest reference the registry gave a pushed image. */
export async function repoDigestOf(engine: DockerEngine, reference: string): Promise<string> {
  const result = await run(
    "docker",
    ["image", "inspect", "--format", "{{index .RepoDigests 0}}", reference],
    {
      env: { ...process.env, DOCKER_HOST: engine.dockerHost },
    },
  );
  return result.stdout.trim();
}

export interface TarballOptions {
  readonly app?: string;
  readonly parallelism?: number;
  /** As the fan-out runs: a failing host is reported and the script goes on. */
  readonly leaveFailuresToHosts?: boolean;
  /** Registry the deployer pulls from when it lacks the image. */
  readonly registry?: { server: string; username: string };
  /** The pull token on the second line of stdin. */
  readonly token?: string;
}

/** The deployer's side of a tarball delivery to `hosts`, exactly as `pulumi up` runs it. */
export function tarballScript(hosts: TestHost[], ref: string, opts: TarballOptions = {}): string {
  const app = opts.app ?? "web";
  return tarballDeliveryScript({
    app,
    hostTag: hostTagOf(app, ref),
    imageRef: ref,
    hosts: hosts.map((h) => ({ hostName: h.sim.name, target: h.target })),
    registry: opts.registry ?? { server: "registry.invalid", username: "nobody" },
    parallelism: opts.parallelism,
    leaveFailuresToHosts: opts.leaveFailuresToHosts,
  });
}

/** Runs a tarball delivery to `hosts` on the deployer engine; never rejects. */
export function deliverTarball(
  engine: DockerEngine,
  hosts: TestHost[],
  ref: string,
  opts: TarballOptions = {},
): Promise<RunResult> {
  return runOnDeployer(
    engine,
    tarballScript(hosts, ref, opts),
    `${deployerKey.privateKey}\n${opts.token ?? ""}\n`,
  );
}

/** Bytes the root namespace has sent onto the harness link: what crossed the deployer's uplink. */
export async function bytesSentByDeployer(): Promise<number> {
  const result = await run("cat", [`/sys/class/net/${HARNESS_BRIDGE}/statistics/tx_bytes`]);
  return Number(result.stdout.trim());
}

/**
 * Images that share their lower layers, as a realistic app does: busybox, `baseMiB` of random data,
 * then the app's site (and optionally `topMiB` of random data on top). Built from one context, so the
 * builder's cache gives every version the very same lower layers.
 */
export class LayeredImages {
  private constructor(
    private readonly engine: DockerEngine,
    private readonly context: string,
  ) {}

  static async create(engine: DockerEngine, baseMiB: number): Promise<LayeredImages> {
    const context = await mkdtemp(path.join(tmpdir(), "hcd-layered-"));
    await copyFile("/bin/busybox", path.join(context, "busybox"));
    await run("bash", ["-c", `head -c ${baseMiB}M /dev/urandom > "$0/base"`, context]);
    await mkdir(path.join(context, "www"));
    return new LayeredImages(engine, context);
  }

  /** Builds `tag` with `version` as its site, and `topMiB` of fresh random data in the top layer. */
  async build(tag: string, version: string, topMiB = 0): Promise<string> {
    await writeFile(path.join(this.context, "www", "index.html"), version);
    await run("bash", ["-c", `head -c ${topMiB}M /dev/urandom > "$0/www/top"`, this.context]);
    await writeFile(
      path.join(this.context, "Dockerfile"),
      'FROM scratch\nCOPY busybox /bin/busybox\nCOPY base /base\nCOPY www /www\nEXPOSE 8080\nENTRYPOINT ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]\n',
    );
    const env = { ...process.env, DOCKER_HOST: this.engine.dockerHost, DOCKER_BUILDKIT: "0" };
    await run("docker", ["build", "-q", "-t", tag, this.context], { env });
    return tag;
  }

  async remove(): Promise<void> {
    await rm(this.context, { recursive: true, force: true });
  }
}

/** The host's own Docker engine, reached from the deployer's namespace (to put test images there). */
export function hostEngine(host: TestHost): { dockerHost: string } {
  return { dockerHost: host.sim.dockerHost };
}

/** Builds an HTTP test image on the host's engine and tags it as a delivery would; returns the tag. */
export async function releaseOnHost(
  host: TestHost,
  app: string,
  version: string,
  paddingMiB = 0,
): Promise<string> {
  const engine = hostEngine(host);
  const image = await buildHttpImage(engine, { tag: `build/${app}:latest`, version, paddingMiB });
  const tag = `hcloud-deploy/${app}:${image.id.replace(/^sha256:/, "")}`;
  await run("docker", ["tag", image.id, tag], { env: { ...process.env, DOCKER_HOST: engine.dockerHost } });
  await run("docker", ["rmi", `build/${app}:latest`], {
    env: { ...process.env, DOCKER_HOST: engine.dockerHost },
  });
  return tag;
}

/** What deliveries keep on the host while they run, one name per line: streams on disk, control dirs on tmpfs. */
export async function stagedFiles(host: TestHost): Promise<string> {
  return (
    await runOnHost(
      host,
      "ls -A /var/tmp/hcloud-deploy /run/hcloud-deploy 2>/dev/null | grep -v -e '^/' -e '^$' -e keys.lock || true",
    )
  ).stdout.trim();
}
