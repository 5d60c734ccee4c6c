// What the end-to-end suites share about the engine: whether a working `pulumi` is on PATH (without one
// a suite is skipped, saying why), and running it with both output streams captured.
import { spawn, spawnSync } from "node:child_process";

/** `describe`, or `describe.skip` with the reason on stderr when no `pulumi` answers. */
export function describeWithEngine(suite: string): jest.Describe {
  const probe = spawnSync("pulumi", ["version"], { encoding: "utf8" });
  if (!probe.error && probe.status === 0) return describe;
  process.stderr.write(
    `${suite} SKIPPED: no working \`pulumi\` on PATH; scripts/pulumi-toolchain.sh provides one where Pulumi's binaries or sources can be fetched\n`,
  );
  return describe.skip;
}

export type PulumiOpts = { cwd: string; env: NodeJS.ProcessEnv };

/** Runs pulumi; `output` has both streams, `stdout` alone (for --json). */
export function runCaptured(
  args: string[],
  opts: PulumiOpts,
): Promise<{ code: number; output: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("pulumi", args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let stdout = "";
    child.stdout.on("data", (d: Buffer) => ((output += d), (stdout += d)));
    child.stderr.on("data", (d: Buffer) => (output += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output, stdout }));
  });
}
