/**
 * arm64 simulated hosts boot the same amd64 root file system as the others (amd64 sshd, dockerd and
 * caddy); only their containers are arm64, run by the kernel through binfmt_misc and the machine's
 * qemu-aarch64-static. The F flag makes the kernel open the interpreter when the format is registered, so
 * it works inside the host's root and a container's, neither of which has qemu. scripts/setup-machine.sh
 * registers it.
 */
import { readFileSync } from "node:fs";

export const BINFMT_MISC = "/proc/sys/fs/binfmt_misc";
export const QEMU_AARCH64_ENTRY = `${BINFMT_MISC}/qemu-aarch64`;

/**
 * Why arm64 containers cannot run, from what binfmt_misc shows: `mounted` whether its `status` file
 * exists, `entry` the text of its qemu-aarch64 file (undefined: not registered). Undefined when they can.
 */
export function arm64EmulationProblem(mounted: boolean, entry: string | undefined): string | undefined {
  if (!mounted) return `binfmt_misc is not mounted on ${BINFMT_MISC}`;
  if (entry === undefined) return "it is not registered";
  const lines = entry.split("\n");
  if (lines[0] !== "enabled") return `it is ${lines[0] === "" ? "unreadable" : lines[0]}`;
  const flags = lines.find((line) => line.startsWith("flags:"));
  if (!flags?.slice("flags:".length).includes("F"))
    return `it is registered without it (${flags ?? "no flags"})`;
  return undefined;
}

/**
 * Throws one line naming scripts/setup-machine.sh when this machine cannot run arm64 containers.
 * Synchronous (two reads of procfs), so a caller can check before its first await.
 */
export function requireArm64Emulation(): void {
  const problem = arm64EmulationProblem(
    readable(`${BINFMT_MISC}/status`) !== undefined,
    readable(QEMU_AARCH64_ENTRY),
  );
  if (problem !== undefined) {
    throw new Error(
      `arm64 simulated hosts need qemu-aarch64 registered in binfmt_misc with the F flag, but ${problem}: run scripts/setup-machine.sh`,
    );
  }
}

function readable(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
