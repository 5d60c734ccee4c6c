// What the serving tests share: host scripts run from the deployer exactly as `pulumi up` runs them
// (a local command, the script in its environment, key and env file on stdin), images on a registry.
import { ProxyTls } from "../../components/shell/caddy";
import { overSshScript, SCRIPT_VARIABLE, scriptCommandLine } from "../../components/shell/deployerCommand";
import { hostTagOf, PROXY } from "../../components/shell/prelude";
import { hostSetupScript } from "../../components/shell/proxy";
import { registryPullDeliveryScript } from "../../components/shell/registryPull";
import { rolloutRemoveScript, rolloutScript } from "../../components/shell/rollout";
import { ServiceSpec } from "../../components/shell/service";
import { tarballDeliveryScript } from "../../components/shell/tarball";
import { DockerEngine, startDockerEngine } from "../../local/dockerd";
import { run, RunResult } from "../../local/exec";
import { buildHttpImage, HttpImageOptions, pushImage } from "../../local/images";
import { LocalRegistry, startRegistry } from "../../local/registry";
import { stopAllSimHosts } from "../../local/simhost";
import { deployerKey, repoDigestOf, runOnDeployer, startTestHost, TestHost } from "./support";

/** Runs a deployer script the way the command provider runs a local.Command with it in its environment. */
export function runCommand(
  script: string,
  mode: "create" | "update" | "delete",
  stdin: string,
): Promise<RunResult> {
  return run("/bin/sh", ["-c", scriptCommandLine(mode)], {
    input: stdin,
    check: false,
    env: { ...process.env, [SCRIPT_VARIABLE]: script },
  });
}

/** HetznerHost's `<host>-proxy` command. */
export function setUpProxy(host: TestHost, tls: ProxyTls = { issuer: "internal" }): Promise<RunResult> {
  const script = overSshScript({
    subject: "proxy",
    hostName: host.sim.name,
    target: host.target,
    create: hostSetupScript(host.sim.name, tls),
  });
  return runCommand(script, "create", `${deployerKey.privateKey}\n`);
}

/** Service's `<name>-rollout` command: creating (a rollout), updating (the same, no new claim) or deleting. */
export function rollout(
  host: TestHost,
  spec: ServiceSpec,
  envFile = "",
  mode: "create" | "update" | "delete" = "create",
): Promise<RunResult> {
  const script = overSshScript({
    subject: spec.app,
    hostName: host.sim.name,
    target: host.target,
    create: rolloutScript(spec, "create"),
    update: rolloutScript(spec, "update"),
    delete: rolloutRemoveScript(spec),
  });
  return runCommand(script, mode, `${deployerKey.privateKey.trimEnd()}\n${envFile}`);
}

/** A service of app `app` on `host` running `ref`; one deployment per image, as triggers make it. */
export function serviceSpec(host: TestHost, app: string, ref: string, overrides: Partial<ServiceSpec> = {}) {
  const spec: ServiceSpec = {
    app,
    hostName: host.sim.name,
    image: hostTagOf(app, ref),
    port: 8080,
    hostPort: 8080,
    domains: [],
    memory: "64m",
    cpus: 0.5,
    restart: "unless-stopped",
    health: { path: "/", timeoutSeconds: 10, intervalSeconds: 1 },
    drainSeconds: 30,
    env: {},
    instance: ref.slice(-12),
    // These tests roll many versions back and forth without delivering again; pruning has its own test.
    keepImages: 20,
    ...overrides,
  };
  return spec;
}

/** What a serving test runs against: a registry, a deployer engine, one host trusting the registry. */
export interface ServingRig {
  readonly registry: LocalRegistry;
  readonly deployer: DockerEngine;
  readonly host: TestHost;
  /** Per variant of the app: its digest reference, already delivered to the host. */
  readonly refs: Record<string, string>;
}

/** Starts a rig and puts every variant of `app` on its host (by tarball delivery). */
export async function startServingRig(
  app: string,
  host: { name: string; address: string },
  variants: Record<string, Omit<HttpImageOptions, "tag">>,
): Promise<ServingRig> {
  const registry = await startRegistry();
  const deployer = await startDockerEngine({
    name: `${host.name}-deployer`,
    insecureRegistries: [registry.host],
  });
  const testHost = await startTestHost(host.name, host.address, [registry.host]);
  const refs = await pushVariants(deployer, registry, app, variants);
  for (const ref of Object.values(refs)) await deliver(deployer, registry, testHost, app, ref);
  return { registry, deployer, host: testHost, refs };
}

/** Stops what startServingRig started, also after it failed halfway (every simulated host goes). */
export async function stopServingRig(rig: Partial<ServingRig> | undefined): Promise<void> {
  await stopAllSimHosts();
  await rig?.deployer?.stop();
  await rig?.registry?.stop();
}

/** Builds, pushes and returns the digest reference of each variant of an app's image. */
export async function pushVariants(
  engine: DockerEngine,
  registry: LocalRegistry,
  app: string,
  variants: Record<string, Omit<HttpImageOptions, "tag">>,
): Promise<Record<string, string>> {
  const refs: Record<string, string> = {};
  for (const [name, options] of Object.entries(variants)) {
    const image = await buildHttpImage(engine, { tag: `it/${app}:${name}`, ...options });
    const pushed = await pushImage(engine, image, registry, `example-org/${app}`, name);
    refs[name] = await repoDigestOf(engine, pushed);
  }
  return refs;
}

/** Puts an image on the host with the tarball delivery; fails the test when it does not arrive. */
export async function deliver(
  engine: DockerEngine,
  registry: LocalRegistry,
  host: TestHost,
  app: string,
  ref: string,
  /** The host's platform, as `pulumi up` passes it: the image of it an index names. */
  platform = "linux/amd64",
) {
  const script = tarballDeliveryScript({
    app,
    hostTag: hostTagOf(app, ref),
    imageRef: ref,
    hosts: [{ hostName: host.sim.name, target: host.target }],
    registry: { server: registry.host, username: registry.user, insecure: true },
    platform,
  });
  // The pull token: the deployer fetches the blobs the host lacks from the registry, as `pulumi up` does.
  const result = await runOnDeployer(engine, script, `${deployerKey.privateKey}\n${registry.password}\n`);
  if (result.code !== 0) throw new Error(`delivery of ${ref} failed: ${result.stderr}`);
}

/** Puts an image on the host with the registry delivery (the host pulls it); fails the test when it does not. */
export async function deliverByPull(
  engine: DockerEngine,
  registry: LocalRegistry,
  host: TestHost,
  app: string,
  ref: string,
) {
  const script = registryPullDeliveryScript({
    app,
    hostName: host.sim.name,
    hostTag: hostTagOf(app, ref),
    imageRef: ref,
    registry: { server: registry.host, username: registry.user },
    target: host.target,
  });
  const result = await runOnDeployer(engine, script, `${deployerKey.privateKey}\n${registry.password}\n`);
  if (result.code !== 0) throw new Error(`registry delivery of ${ref} failed: ${result.stderr}`);
}

/** A call to the host proxy's admin API, as root on the host. */
export async function proxyAdmin(host: TestHost, path: string): Promise<string> {
  const call = `curl -sS --unix-socket ${PROXY.adminSocket} -H 'Host: ' http://caddy${path}`;
  return (await host.sim.exec(call)).stdout;
}

/** GET over IPv6 from the root namespace through the host's proxy; the body, or what went wrong. */
export async function viaProxy(host: TestHost, port = 8080, urlPath = "/"): Promise<string> {
  const result = await run(
    "curl",
    ["-sS", "-g", "--max-time", "5", `http://[${host.address}]:${port}${urlPath}`],
    {
      check: false,
    },
  );
  return result.code === 0 ? result.stdout : `curl failed (${result.code}): ${result.stderr.trim()}`;
}

/** The env file startApiWithVolume's app runs with. */
export const API_GREETING = "hello from the env file";

/**
 * A rig whose host runs the proxy and app `api` (one version) with volume `data` at /data and GREETING
 * in its env file: what one-off containers like the app (exec --new, jobs) must see.
 */
export async function startApiWithVolume(host: { name: string; address: string }): Promise<ServingRig> {
  const rig = await startServingRig("api", host, { v1: { version: "api v1" } });
  expect((await setUpProxy(rig.host)).code).toBe(0);
  const spec = serviceSpec(rig.host, "api", rig.refs.v1, { volumes: [{ name: "data", path: "/data" }] });
  const served = await rollout(rig.host, spec, `GREETING=${API_GREETING}\n`);
  expect([served.code, served.stderr]).toEqual([0, ""]);
  return rig;
}
