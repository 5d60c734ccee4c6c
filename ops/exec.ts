/**
 * A command inside an app, over the pinned-key SSH prelude:
 *
 *   npm run exec -- --stack <stack> --app <app> [--host <host>] [--new] -- <command> [args…]
 *
 * In the running container, or with `--new` in a fresh one made like it (see components/shell/exec.ts).
 * A terminal when stdin is one; the command's exit status is this one's.
 */
import { spawn } from "node:child_process";
import { execScript } from "../components/shell/exec";
import { overSsh } from "../components/shell/report";
import { SshTarget } from "../components/shell/ssh";
import { desiredHosts, hostsOfApp } from "./desired";
import { stopScript } from "./hostCall";
import { deployerPrivateKey, OpsError, stackCli, stackOutputs } from "./stackCli";

const USAGE = "usage: exec.ts --stack <stack> --app <app> [--host <host>] [--new] -- <command> [args…]";

export interface ExecCommandArgs {
  readonly stack: string;
  readonly app: string;
  readonly host: string | undefined;
  readonly fresh: boolean;
  readonly command: readonly string[];
}

export function parseExecArgs(argv: readonly string[]): ExecCommandArgs {
  const args = [...argv];
  const values: Record<string, string> = {};
  let fresh = false;
  while (args.length > 0 && args[0] !== "--") {
    const flag = args.shift() as string;
    if (flag === "--new") {
      fresh = true;
      continue;
    }
    const name = flag.replace(/^--/, "");
    if (!["stack", "app", "host"].includes(name) || !flag.startsWith("--")) throw new OpsError(USAGE);
    const value = args.shift();
    if (value === undefined || value.startsWith("-")) throw new OpsError(`${flag} needs a value; ${USAGE}`);
    values[name] = value;
  }
  if (values.stack === undefined || values.app === undefined) throw new OpsError(USAGE);
  const command = args.slice(1);
  if (command.length === 0) throw new OpsError(`no command after --; ${USAGE}`);
  return { stack: values.stack, app: values.app, host: values.host, fresh, command };
}

export interface ExecTarget {
  readonly hostName: string;
  readonly target: SshTarget;
}

export interface ExecRun {
  readonly code: number;
  /** What the command printed: only with `stdio: "pipe"`. */
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the command on one host. The private key goes on descriptor 3, so stdin is the command's whole:
 * "inherit" hands it the terminal (and a remote one when stdin is a TTY), "pipe" feeds it `input`.
 */
export function runExec(
  host: ExecTarget,
  args: Pick<ExecCommandArgs, "app" | "fresh" | "command">,
  privateKey: string,
  stdio: { mode: "inherit" } | { mode: "pipe"; input: string },
): Promise<ExecRun> {
  const tty = stdio.mode === "inherit" && process.stdin.isTTY === true;
  const remote = execScript({
    app: args.app,
    hostName: host.hostName,
    command: args.command,
    fresh: args.fresh,
    tty,
  });
  const script = overSsh(host.target, host.hostName, args.app, remote, { keyFd: 3, tty });
  const child = spawn("bash", ["-c", script, "hcloud-deploy"], {
    stdio:
      stdio.mode === "inherit" ? ["inherit", "inherit", "inherit", "pipe"] : ["pipe", "pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  if (stdio.mode === "pipe") {
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(stdio.input);
  }
  const keyPipe = child.stdio[3] as NodeJS.WritableStream;
  keyPipe.on("error", () => undefined);
  keyPipe.end(privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`);
  const stop = () => stopScript(child);
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      process.removeListener("SIGINT", stop);
      process.removeListener("SIGTERM", stop);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/** The command line: resolves to the command's exit status. */
export async function execCommand(argv: readonly string[]): Promise<number> {
  const args = parseExecArgs(argv);
  const cli = stackCli(args.stack);
  const hosts = hostsOfApp(cli.stack, desiredHosts(cli.stack, await stackOutputs(cli)), args.app, args.host);
  const host = hosts[0];
  if (hosts.length > 1) {
    process.stderr.write(
      `exec: ${args.app} runs on ${hosts.map((h) => h.name).join(", ")}; using ${host.name} (--host chooses)\n`,
    );
  }
  const target = { address: host.address, port: 22, user: "root", hostKey: host.hostKey };
  const run = await runExec({ hostName: host.name, target }, args, await deployerPrivateKey(cli), {
    mode: "inherit",
  });
  return run.code;
}
