/**
 * Runs the Hetzner Cloud API emulator as a process:
 *   node -r ts-node/register local/emulator/main.ts --port 4567 --state .pulumi-local/hcloud.json
 * stdout gets one line, the endpoint for HCLOUD_ENDPOINT, once it listens; stderr gets the request log.
 */
import path from "node:path";
import { startSimNetwork } from "../privateNetwork";
import { startSimHost } from "../simhost";
import { startSimLoadBalancer } from "../simLoadBalancer";
import { USAGE, parseCli } from "./cli";
import { startEmulator } from "./emulator";
import { LoadBalancerBackend } from "./cloudBackend";
import { HostBackend, InMemoryHostBackend } from "./hostBackend";
import { SimHostBackend } from "./simhostBackend";
import { SimLbBackend } from "./simLbBackend";

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(): Promise<void> {
  let cli;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${USAGE}`);
  }
  let hosts: HostBackend = new InMemoryHostBackend();
  let loadBalancers: LoadBalancerBackend | undefined;
  if (cli.hosts === "sim") {
    const simHosts = new SimHostBackend(startSimHost, {
      insecureRegistries: cli.insecureRegistries,
      // Volumes' data lives beside the state file that knows them.
      volumesDir: cli.stateFile && path.join(path.dirname(path.resolve(cli.stateFile)), "volumes"),
    });
    hosts = simHosts;
    loadBalancers = new SimLbBackend({
      startNetwork: startSimNetwork,
      startLoadBalancer: startSimLoadBalancer,
      serverNetns: (id) => simHosts.netnsOf(id),
    });
  }
  const emulator = await startEmulator({
    hosts,
    loadBalancers,
    port: cli.port,
    listen: cli.listen,
    token: cli.token,
    stateFile: cli.stateFile,
    ipv6Pool: cli.ipv6Pool,
    log,
  });
  process.stdout.write(`${emulator.endpoint}\n`);
  log(
    `hcloud emulator: HCLOUD_ENDPOINT=${emulator.endpoint} (hosts: ${cli.hosts}, IPv6 pool ${cli.ipv6Pool})`,
  );

  const shutdown = (signal: string) => {
    log(`hcloud emulator: ${signal}, stopping`);
    emulator.close().then(
      () => process.exit(0),
      (error: Error) => {
        log(`hcloud emulator: stopping failed: ${error.stack ?? error.message}`);
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

main().catch((error: Error) => {
  log(`hcloud emulator: ${error.message}`);
  process.exit(1);
});
