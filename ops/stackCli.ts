/**
 * How the day-2 commands (rollback, status, logs) run `pulumi` against a stack: in the project
 * directory, with the local stack's environment (file backend, passphrase, deployer engine) set here,
 * so `--stack local` works with nothing set by hand.
 */
import { spawn } from "node:child_process";
import { ensurePulumi, LOCAL_STACK, localStackEnv } from "../local/commands";

export class OpsError extends Error {}

export interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface StackCli {
  readonly stack: string;
  /**
   * The stack lives in a self-managed backend (file, S3, …: PULUMI_BACKEND_URL set and not an https
   * Pulumi Cloud), which numbers no versions and answers history in full.
   */
  readonly selfManaged: boolean;
  /** Runs `pulumi` and keeps what it prints; stderr also goes through live when `echoErrors` is set. */
  capture(argv: readonly string[], echoErrors?: boolean): Promise<Captured>;
  /** Runs `pulumi` with its output streaming straight through; rejects naming the command on failure. */
  stream(argv: readonly string[]): Promise<void>;
}

/** The stack names the CLI accepts, and nothing that could be taken for an option. */
export const STACK_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_./-]*$/;

export function stackCli(stack: string): StackCli {
  if (!STACK_NAME.test(stack)) throw new OpsError(`"${stack}" is not a stack name`);
  ensurePulumi();
  const env = stack === LOCAL_STACK ? localStackEnv() : process.env;
  const backend = env.PULUMI_BACKEND_URL ?? "";
  return {
    stack,
    selfManaged: backend !== "" && !backend.startsWith("https://"),
    capture: (argv, echoErrors = false) =>
      new Promise((resolve, reject) => {
        const child = spawn("pulumi", argv, { env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => {
          stderr += d.toString();
          if (echoErrors) process.stderr.write(d);
        });
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
      }),
    stream: (argv) =>
      new Promise((resolve, reject) => {
        const child = spawn("pulumi", argv, { env, stdio: ["ignore", "inherit", "inherit"] });
        child.on("error", reject);
        child.on("close", (code) =>
          code === 0 ? resolve() : reject(new OpsError(`pulumi ${argv[0]} ${argv[1]} failed (exit ${code})`)),
        );
      }),
  };
}

/** The first line pulumi printed on stderr, without its `error: ` prefix. */
export function firstError(captured: Captured): string {
  return (captured.stderr.trim().split("\n")[0] ?? "").replace(/^error: /, "");
}

/** The stack's outputs (`pulumi stack output --json`); secret outputs stay hidden. */
export async function stackOutputs(cli: StackCli): Promise<Record<string, unknown>> {
  const out = await cli.capture(["stack", "output", "--json", "--stack", cli.stack]);
  if (out.code !== 0) throw new OpsError(`cannot read the outputs of stack ${cli.stack}: ${firstError(out)}`);
  return JSON.parse(out.stdout) as Record<string, unknown>;
}

/**
 * The deployer's private key from the stack config, for the SSH prelude's stdin only: it stays in this
 * process's memory, never in argv, another process's environment, a file or a log.
 */
export async function deployerPrivateKey(cli: StackCli): Promise<string> {
  const out = await cli.capture(["config", "get", "hcloud-deploy:sshPrivateKey", "--stack", cli.stack]);
  if (out.code !== 0 || !out.stdout.includes("PRIVATE KEY-----")) {
    const reason = firstError(out) || "it is not an OpenSSH private key";
    throw new OpsError(`cannot read hcloud-deploy:sshPrivateKey of stack ${cli.stack}: ${reason}`);
  }
  return `${out.stdout.trim()}\n`;
}
