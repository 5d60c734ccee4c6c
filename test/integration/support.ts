import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { knownHostsLine } from "../../components/shell/ssh";
import { generateEd25519KeyPair } from "../../components/sshKeys";
import { DockerEngine, HARNESS_STATE_ROOT } from "../../local/dockerd";
import { run, RunResult } from "../../local/exec";
import { buildHttpImage } from "../../local/images";
import { SimHost, SimHostSpec, startSimHost } from "../../local/simhost";

/** The deployer's key pair, generated the way the program generates host keys. */
export const deployerKey = generateEd25519KeyPair("deployer@integration");

export interface TestHost {
  readonly sim: SimHost;
  readonly address: string;
  /** Pinned host key line, as HetznerHost exports it. */
  readonly hostKey: string;
  readonly target: { address: string; port: number; user: string; hostKey: string };
}

/** A simulated host whose sshd runs with a host key from generateEd25519KeyPair, like a real one. */
export async function startTestHost(
  name: string,
  address: string,
  insecureRegistries: string[],
  more: Pick<SimHostSpec, "resolvers"> = {},
): Promise<TestHost> {
  const hostKey = generateEd25519KeyPair(`${name}-integration`);
  const sim = await startSimHost({
    name,
    address,
    authorizedKeys: [deployerKey.publicKey],
    hostKey,
    insecureRegistries,
    ...more,
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

/** The host's own Docker engine, reached from the deployer's namespace (to put test images there). */
export function hostEngine(host: TestHost): { dockerHost: string } {
  return { dockerHost: `unix://${path.join(HARNESS_STATE_ROOT, "hosts", host.sim.name, "docker.sock")}` };
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
