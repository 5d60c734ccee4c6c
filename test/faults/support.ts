// What the fault cases share: apps on a simulated host as their rollout runs them, the desired
// state the day-2 commands compare with, process sampling and a one-line outcome per fault.
import { spawn } from "node:child_process";
import { ServiceSpec } from "../../components/shell/service";
import { DesiredApp, DesiredHost } from "../../ops/desired";
import { TestHost } from "../integration/support";

/** A digest reference whose host tag is `tag` (the tests tag images by their ID, as if pushed). */
export function refOf(app: string, tag: string): string {
  return `registry.test/faults/${app}@sha256:${tag.split(":").pop()}`;
}

export function serviceSpec(host: TestHost, app: string, tag: string, hostPort: number): ServiceSpec {
  return {
    app,
    hostName: host.sim.name,
    image: tag,
    port: 8080,
    hostPort,
    domains: [],
    memory: "64m",
    cpus: 0.5,
    restart: "unless-stopped",
    health: { path: "/", timeoutSeconds: 8, intervalSeconds: 1 },
    drainSeconds: 5,
    env: { MODE: "faults" },
    instance: tag.slice(-12),
    keepImages: 3,
  };
}

/** What the stack would want on the host: these apps, at these tags and ports. */
export function desiredHost(
  host: Pick<TestHost, "address" | "hostKey"> & { name: string },
  apps: readonly { app: string; tag: string; hostPort: number }[],
): DesiredHost {
  return {
    name: host.name,
    address: host.address,
    hostKey: host.hostKey,
    platform: "linux/amd64",
    apps: apps.map((a): DesiredApp => ({
      app: a.app,
      image: refOf(a.app, a.tag),
      digest: `sha256:${a.tag.split(":").pop()}`,
      hostPort: a.hostPort,
      domains: [],
      healthPath: "/",
      service: `urn:pulumi:faults::hcloud-deploy::hcloud-deploy:service:Service::${a.app}-on-${host.name}-service`,
      delivery: `urn:pulumi:faults::hcloud-deploy::hcloud-deploy:delivery:Delivery::${a.app}-on-${host.name}-delivery`,
      jobs: [],
      replicas: 1,
      volumes: [],
    })),
  };
}

/** Samples every process's argv on the machine (hosts' namespaces included) until stopped. */
export function sampleArgv(intervalMs = 100): { stop(): Promise<string> } {
  const child = spawn("bash", ["-c", `while :; do ps -eo args; sleep ${intervalMs / 1000}; done`], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  let seen = "";
  child.stdout.on("data", (d: Buffer) => (seen += d.toString()));
  return {
    stop: () =>
      new Promise((resolve) => {
        child.on("close", () => resolve(seen));
        child.kill("SIGTERM");
      }),
  };
}

/** The measured outcome of a fault, one line, for the closing note. */
export function outcome(fault: string, what: string): void {
  process.stderr.write(`fault: ${fault}: ${what}\n`);
}
