import { mkdir, rm, stat, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { RunResult, run as runOnMachine } from "../exec";
import type { VolumeSpec } from "./hostBackend";

/** Runs a command on the machine and rejects unless it exits 0 (exec.ts run); replaceable in tests. */
export type RunCommand = (command: string, args: readonly string[]) => Promise<RunResult>;

/** A volume of N GB is N GiB here, the size lsblk shows for a Hetzner Volume. */
const BYTES_PER_GB = 1024 ** 3;

/** mkfs of each format: forced, since the target is a regular file rather than a block device. */
const MKFS: Record<NonNullable<VolumeSpec["format"]>, { command: string; args: string[] }> = {
  ext4: { command: "mkfs.ext4", args: ["-q", "-F"] },
  xfs: { command: "mkfs.xfs", args: ["-q", "-f"] },
};

/**
 * The disks behind volumes: a sparse file per volume in `dir` (the data, which outlives the emulator),
 * and while it is attached a loop device on it in the root namespace, which the host then links.
 * Loop devices are this backend's own and go with close(); the files go only with remove().
 */
export class VolumeDisks {
  /** Volume ID → its loop device while attached. */
  private readonly loops = new Map<number, string>();

  constructor(
    readonly dir: string,
    private readonly run: RunCommand = (command, args) => runOnMachine(command, args),
  ) {}

  fileOf(volumeId: number): string {
    return path.join(this.dir, `volume-${volumeId}.img`);
  }

  /** A new volume starts empty, whatever an earlier disk of that ID (a wiped emulator's) held. */
  async create(volume: VolumeSpec): Promise<void> {
    const mkfs = volume.format && MKFS[volume.format];
    if (mkfs) await this.requireTool(mkfs.command, volume);
    const file = this.fileOf(volume.id);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await rm(file, { force: true });
    await writeFile(file, "", { mode: 0o600 });
    await truncate(file, volume.sizeGb * BYTES_PER_GB);
    if (mkfs) await this.run(mkfs.command, [...mkfs.args, file]);
  }

  /** Returns the loop device now backed by the volume's file. */
  async attach(volumeId: number): Promise<string> {
    const file = this.fileOf(volumeId);
    if (!(await stat(file).catch(() => undefined))) {
      throw new Error(`volume ${volumeId} has no disk: ${file} does not exist`);
    }
    await this.detach(volumeId);
    // A crashed emulator's loop devices on this file (its hosts, and their mounts, died with it).
    const stale = (await this.run("losetup", ["--associated", file])).stdout;
    for (const [, device] of stale.matchAll(/^(\/dev\/loop\d+):/gm)) {
      await this.run("losetup", ["--detach", device]).catch(() => undefined);
    }
    const device = (await this.run("losetup", ["--find", "--show", file])).stdout.trim();
    if (!/^\/dev\/loop\d+$/.test(device)) throw new Error(`losetup gave "${device}" for ${file}`);
    this.loops.set(volumeId, device);
    return device;
  }

  /** The loop device goes (once its last user lets go, if one still holds it); the file stays. */
  async detach(volumeId: number): Promise<void> {
    const device = this.loops.get(volumeId);
    if (device === undefined) return;
    this.loops.delete(volumeId);
    await this.run("losetup", ["--detach", device]);
  }

  /** Grows the file; an attached loop device takes the new size, as a VM sees its volume grow. */
  async resize(volumeId: number, sizeGb: number): Promise<void> {
    const file = this.fileOf(volumeId);
    const bytes = sizeGb * BYTES_PER_GB;
    const current = (await stat(file)).size;
    if (bytes <= current)
      throw new Error(`volume ${volumeId} is ${current} bytes already, not growing it to ${bytes}`);
    await truncate(file, bytes);
    const device = this.loops.get(volumeId);
    if (device !== undefined) await this.run("losetup", ["--set-capacity", device]);
  }

  async remove(volumeId: number): Promise<void> {
    await this.detach(volumeId);
    await rm(this.fileOf(volumeId), { force: true });
  }

  /** Every loop device goes; every file stays. */
  async close(): Promise<void> {
    const ids = [...this.loops.keys()];
    const results = await Promise.allSettled(ids.map((id) => this.detach(id)));
    const failures = results.flatMap((r) => (r.status === "rejected" ? [String(r.reason)] : []));
    if (failures.length > 0)
      throw new Error(`Detaching volumes' loop devices failed:\n${failures.join("\n")}`);
  }

  /** Hetzner formats xfs too; without xfsprogs on the machine that cannot be simulated, so it is refused. */
  private async requireTool(command: string, volume: VolumeSpec): Promise<void> {
    try {
      await this.run(command, ["-V"]);
    } catch {
      throw new Error(
        `volume ${volume.id} cannot be formatted ${volume.format}: ${command} is not installed on this machine`,
      );
    }
  }
}
