/**
 * What runs where, against what the stack wants, and the way back:
 *
 *   npm run status -- --stack <stack>            per host and app: desired and running digest, container
 *                                                state, health, proxy route, disk; exit 1 on drift
 *   npm run status -- --stack <stack> --repair   then `pulumi up` replacing the drifted services'
 *                                                resources (an audited stack version), and status again
 *
 * Every host is asked over the pinned-key SSH prelude (components/shell/ssh.ts), in parallel.
 */
import { proxyEndpoint } from "../components/shell/rollout";
import { PROXY } from "../components/shell/prelude";
import { overSsh, ReportCheck, reportScript } from "../components/shell/report";
import { volumeDirectory } from "../components/shell/volumes";
import { DesiredHost, desiredHosts, parseHostReport } from "./desired";
import { callHost } from "./hostCall";
import { planRepair } from "./repair";
import { deployerPrivateKey, firstError, OpsError, StackCli, stackCli, stackOutputs } from "./stackCli";
import { driftLines, formatStatus, hostStatus, HostStatus } from "./status";

const USAGE = "usage: status.ts --stack <stack> [--repair]";

export function parseStatusArgs(argv: readonly string[]): { stack: string; repair: boolean } {
  const args = [...argv];
  let stack: string | undefined;
  let repair = false;
  while (args.length > 0) {
    const flag = args.shift();
    if (flag === "--repair") repair = true;
    else if (flag === "--stack" && args[0] !== undefined && !args[0].startsWith("-")) stack = args.shift();
    else throw new OpsError(flag === "--stack" ? `--stack needs a stack name; ${USAGE}` : USAGE);
  }
  if (stack === undefined) throw new OpsError(USAGE);
  return { stack, repair };
}

/** Asks one host for its report; a host that cannot be asked yields its one-line reason instead. */
async function askHost(host: DesiredHost, key: string): Promise<HostStatus> {
  // Through the proxy, so only for apps it serves.
  const checks: ReportCheck[] = host.apps.flatMap((a) =>
    proxyEndpoint(a) !== undefined
      ? [
          {
            app: a.app,
            port: a.hostPort ?? 443,
            path: a.healthPath,
            ...(a.domains.length > 0 ? { domain: a.domains[0] } : {}),
          },
        ]
      : [],
  );
  const script = overSsh(
    { address: host.address, port: 22, user: "root", hostKey: host.hostKey },
    host.name,
    "status",
    reportScript({
      proxySocket: PROXY.adminSocket,
      checks,
      volumes: host.apps.flatMap((a) =>
        a.volumes.map((v) => ({ app: a.app, name: v.name, dir: volumeDirectory(a.app, v) })),
      ),
      jobs: host.apps.flatMap((a) => a.jobs.map((j) => ({ app: a.app, job: j.name }))),
    }),
  );
  const result = await callHost(script, key).done;
  if (result.code !== 0)
    return hostStatus(host, result.failure ?? `hcloud-deploy: status on ${host.name}: failed`);
  try {
    return hostStatus(host, parseHostReport(host.name, result.stdout));
  } catch (err) {
    return hostStatus(host, `hcloud-deploy: status on ${host.name}: ${(err as Error).message}`);
  }
}

/** Asks every host at once; `key` is the deployer's private key (it goes to each script's stdin). */
export function askHosts(hosts: readonly DesiredHost[], key: string): Promise<HostStatus[]> {
  return Promise.all(hosts.map((h) => askHost(h, key)));
}

async function survey(cli: StackCli): Promise<HostStatus[]> {
  const hosts = desiredHosts(cli.stack, await stackOutputs(cli));
  if (hosts.length === 0) return [];
  return askHosts(hosts, await deployerPrivateKey(cli));
}

async function repair(cli: StackCli, hosts: readonly HostStatus[]): Promise<boolean> {
  const exported = await cli.capture(["stack", "export", "--stack", cli.stack]);
  if (exported.code !== 0) throw new OpsError(`pulumi stack export failed: ${firstError(exported)}`);
  const plan = planRepair(cli.stack, exported.stdout, hosts);
  for (const line of plan.cannot) process.stdout.write(`cannot repair: ${line}\n`);
  if (plan.argv.length === 0) return false;
  process.stdout.write(`\nrepairing: replacing ${plan.targets.length} resource(s)\n`);
  for (const urn of plan.targets) process.stdout.write(`  ${urn}\n`);
  await cli.stream(plan.argv);
  return true;
}

/** Runs the command; resolves to the exit code (0: as the stack wants, 1: drift or a host unreachable). */
export async function status(argv: readonly string[]): Promise<number> {
  const args = parseStatusArgs(argv);
  const cli = stackCli(args.stack);
  let hosts = await survey(cli);
  process.stdout.write(`${formatStatus(cli.stack, hosts)}\n`);
  if (driftLines(hosts).length === 0) return 0;
  if (!args.repair) {
    process.stdout.write(`repair with: npm run status -- --stack ${cli.stack} --repair\n`);
    return 1;
  }
  if (!(await repair(cli, hosts))) return 1;
  process.stdout.write("\nafter the repair:\n");
  hosts = await survey(cli);
  process.stdout.write(`${formatStatus(cli.stack, hosts)}\n`);
  return driftLines(hosts).length === 0 ? 0 : 1;
}
