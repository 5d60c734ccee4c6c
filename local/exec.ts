import { spawn } from "node:child_process";
import { openSync, closeSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  /** When false, a non-zero exit resolves instead of rejecting. */
  check?: boolean;
}

const STDERR_TAIL_CHARS = 2000;

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    super(
      `Command failed with exit code ${result.code}: ${command}\n${tail(result.stderr, STDERR_TAIL_CHARS)}`,
    );
    this.name = "CommandError";
  }
}

export function run(command: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const commandLine = [command, ...args].join(" ");
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    // The command may exit without reading its input; that is its business, not an error.
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input);

    child.on("error", (err) => {
      reject(new Error(`Cannot run ${commandLine}: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      const result = {
        stdout: Buffer.concat(stdout).toString(),
        stderr: Buffer.concat(stderr).toString(),
        code: code ?? 128,
      };
      if (signal !== null) {
        reject(new Error(`Killed by ${signal}: ${commandLine}\n${tail(result.stderr, STDERR_TAIL_CHARS)}`));
      } else if (result.code !== 0 && opts.check !== false) {
        reject(new CommandError(commandLine, result));
      } else {
        resolve(result);
      }
    });
  });
}

/** A long-running process whose output goes to a log file. */
export interface Daemon {
  readonly pid: number;
  readonly logFile: string;
  /** Why the process ended, or undefined while it runs. */
  exitReason(): string | undefined;
  /**
   * Kills the process's children first and then waits for the process itself: for an
   * `unshare --fork --pid` wrapper that means the whole PID namespace is gone when this resolves.
   */
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 10_000;

/**
 * Starts `argv` under `setpriv --pdeathsig KILL`, so the daemon dies with this Node process
 * even when jest is killed and no afterAll runs.
 */
export function startDaemon(argv: readonly string[], logFile: string): Daemon {
  const logFd = openSync(logFile, "a");
  const child = spawn("setpriv", ["--pdeathsig", "KILL", "--", ...argv], {
    stdio: ["ignore", logFd, logFd],
  });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`Cannot start ${argv.join(" ")} (is util-linux installed?)`);

  let reason: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.on("exit", (code, signal) => {
      reason = signal === null ? `exited with code ${code}` : `killed by ${signal}`;
      resolve();
    });
    child.on("error", (err) => {
      reason = `failed to start: ${err.message}`;
      resolve();
    });
  });

  return {
    pid,
    logFile,
    exitReason: () => reason,
    async stop() {
      if (reason !== undefined) return;
      const children = await childPids(pid);
      for (const target of children.length > 0 ? children : [pid]) killQuietly(target);
      const grace = setTimeout(() => killQuietly(pid), STOP_GRACE_MS);
      await exited;
      clearTimeout(grace);
    },
  };
}

export async function childPids(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8");
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return []; // the process is gone
  }
}

export function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

export async function readTail(file: string, maxChars = STDERR_TAIL_CHARS): Promise<string> {
  try {
    return tail(await readFile(file, "utf8"), maxChars);
  } catch (err) {
    return `(cannot read ${file}: ${(err as Error).message})`;
  }
}

function tail(text: string, maxChars: number): string {
  return text.length <= maxChars ? text.trimEnd() : `…${text.slice(-maxChars).trimEnd()}`;
}

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns true; throws `describeFailure()` once `timeoutMs` is spent. */
export async function waitUntil(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  describeFailure: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(await describeFailure());
    await delay(100);
  }
}

/** Wraps an async cleanup so that repeated and concurrent calls share one run. */
export function once(action: () => Promise<void>): () => Promise<void> {
  let result: Promise<void> | undefined;
  return () => (result ??= action());
}

const OWNER_FILE = "owner.pid";

/**
 * The other live process (another test run sharing the machine) that claimed `dir`, if any; its
 * state must not be wiped. A dead owner means leftovers of a crashed run, which may go.
 */
export async function liveOwnerOf(dir: string): Promise<number | undefined> {
  const owner = Number((await readFile(path.join(dir, OWNER_FILE), "utf8").catch(() => "")).trim());
  if (!Number.isInteger(owner) || owner <= 0 || owner === process.pid) return undefined;
  try {
    process.kill(owner, 0);
    return owner;
  } catch {
    return undefined;
  }
}

/** Marks `dir` (which must exist) as this process's. */
export async function claimOwnership(dir: string): Promise<void> {
  await writeFile(path.join(dir, OWNER_FILE), `${process.pid}\n`);
}
