/**
 * Runs a deployer-side script built by components/shell/report.ts#overSsh: bash with the deployer's
 * private key on stdin (the script puts it into a private agent), so the key is never in argv, in
 * another process's environment, in a file or in a log.
 */
import { ChildProcess, spawn } from "node:child_process";

export interface HostCallResult {
  readonly code: number;
  readonly stdout: string;
  /** The last line the script said about its failure (`hcloud-deploy: … on <host>: …`), if it failed. */
  readonly failure: string | undefined;
}

export interface HostCall {
  readonly child: ChildProcess;
  readonly done: Promise<HostCallResult>;
  /**
   * Stops the conversation: SIGTERM to the script's whole process group (it leads one, see
   * deployerSsh). Signalling bash alone is not enough: it runs its TERM trap only after the
   * foreground ssh ends, which a followed log never does.
   */
  stop(): void;
}

/**
 * SIGTERM to a deployer script's whole process group (it leads one, see deployerSession). Signalling bash
 * alone is not enough: it runs its TERM trap only after the foreground ssh ends.
 */
export function stopScript(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGTERM");
  } catch {
    // Not (yet) a group of its own: bash itself takes the signal and its trap cleans up.
    child.kill("SIGTERM");
  }
}

/**
 * Starts the script. With `onLine`, stdout and stderr are handed over line by line as they come (and
 * not kept); without it, stdout is collected. Stderr lines are kept for the failure line either way.
 */
export function callHost(
  script: string,
  privateKey: string,
  onLine?: (stream: "stdout" | "stderr", line: string) => void,
): HostCall {
  const child = spawn("bash", ["-c", script, "hcloud-deploy"], { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  const stderrLines: string[] = [];
  const split = (stream: "stdout" | "stderr") => {
    let rest = "";
    return (chunk: Buffer) => {
      const text = rest + chunk.toString();
      const lines = text.split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        if (stream === "stderr") stderrLines.push(line);
        if (onLine) onLine(stream, line);
      }
      if (stream === "stdout" && !onLine) stdout += chunk.toString();
    };
  };
  child.stdout.on("data", split("stdout"));
  child.stderr.on("data", split("stderr"));
  child.stdin.on("error", () => undefined);
  child.stdin.end(privateKey);
  const done = new Promise<HostCallResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      const status = code ?? (signal ? 128 : 1);
      const said = stderrLines.filter((l) => l.startsWith("hcloud-deploy: "));
      const failure =
        status === 0 ? undefined : (said.pop() ?? stderrLines.filter(Boolean).pop() ?? `exit ${status}`);
      resolve({ code: status, stdout, failure });
    });
  });
  return { child, done, stop: () => stopScript(child) };
}
