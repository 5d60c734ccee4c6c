/**
 * Booting a simulated host (see simhost.ts): its network plumbed, its root made and its init started in
 * fresh PID, mount and UTS namespaces (simhostRoot.sh), and the wait until sshd and dockerd answer. A
 * reboot runs the same boot again.
 */
import { connect } from "node:net";
import path from "node:path";
import { dockerEngineAnswers } from "./dockerd";
import { Daemon, childPids, readTail, run, startDaemon, waitUntil } from "./exec";
import { plumbNetwork } from "./hostNetwork";
import { hostStateLayout, ROOT_SCRIPT_NAME } from "./simhostFiles";

const HOST_START_TIMEOUT_MS = 60_000;
const LOG_TAIL_CHARS = 3000;

/** What a boot needs to know of the host (a SimHostSpec has it). */
export interface BootingHost {
  /** The netns is "hcd-<name>". */
  readonly name: string;
  readonly address: string;
}

export interface Booted {
  readonly init: Daemon;
  /** tini, PID 1 of the host's PID namespace: what exec() enters. */
  readonly initPid: number;
}

/**
 * Plumbs the host's network and boots it on `lower` (its release's root file system) until sshd and
 * dockerd answer.
 */
export async function boot(
  spec: BootingHost,
  prefixLength: number,
  stateDir: string,
  lower: string,
): Promise<Booted> {
  const netns = `hcd-${spec.name}`;
  await plumbNetwork(netns, spec.address, prefixLength);
  const namespaces = ["--mount", "--propagation", "private", "--uts", "--pid", "--fork", "--kill-child"];
  const rootCommand = ["/bin/bash", path.join(stateDir, ROOT_SCRIPT_NAME), spec.name, stateDir, lower];
  const joinNetns = ["nsenter", `--net=/run/netns/${netns}`, "--"];
  const init = startDaemon(
    [...joinNetns, "unshare", ...namespaces, "--", ...rootCommand],
    path.join(stateDir, "boot.log"),
  );
  try {
    await waitForHost(spec, stateDir, init);
    // init.pid is unshare, outside the new PID namespace; its only child (tini) is inside all of them.
    const [initPid] = await childPids(init.pid);
    if (initPid === undefined) throw new Error(`Simulated host ${spec.name}: its init process is gone`);
    return { init, initPid };
  } catch (err) {
    await init.stop();
    throw err;
  }
}

/** Deleting the root-side veth also deletes its peer (and takes the host off the harness bridge). */
export async function unplumb(netns: string): Promise<void> {
  await run("ip", ["link", "del", netns], { check: false });
  await run("ip", ["netns", "del", netns], { check: false });
}

async function waitForHost(spec: BootingHost, stateDir: string, init: Daemon): Promise<void> {
  const { harness } = hostStateLayout(stateDir);
  const logFiles = [
    path.join(stateDir, "boot.log"),
    ...["init.log", "containerd.log", "docker.log", "ssh.log"].map((log) => path.join(harness, log)),
  ];
  const logs = async () =>
    (
      await Promise.all(
        logFiles.map(async (log) => `--- ${path.basename(log)}:\n${await readTail(log, LOG_TAIL_CHARS)}`),
      )
    ).join("\n");
  const dockerSocket = path.join(harness, "docker.sock");
  let sshReady = false;
  let dockerReady = false;
  await waitUntil(
    async () => {
      const exit = init.exitReason();
      if (exit !== undefined) throw new Error(`Simulated host ${spec.name}: init ${exit}\n${await logs()}`);
      sshReady ||= await acceptsTcp(spec.address, 22);
      dockerReady ||= await dockerEngineAnswers(dockerSocket);
      return sshReady && dockerReady;
    },
    HOST_START_TIMEOUT_MS,
    async () =>
      `Simulated host ${spec.name} not ready within ${HOST_START_TIMEOUT_MS} ms ` +
      `(sshd on [${spec.address}]:22 ${sshReady ? "up" : "down"}, dockerd ${dockerReady ? "up" : "down"})\n` +
      (await logs()),
  );
}

function acceptsTcp(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    const finish = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => finish(true));
    socket.once("timeout", () => finish(false));
    socket.once("error", () => finish(false));
  });
}
