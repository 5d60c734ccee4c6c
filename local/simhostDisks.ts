/**
 * Block devices a simulated host sees under /dev/disk/by-id, the way a VM sees its Hetzner Volumes. The
 * host's /dev is the machine's (simhostRoot.sh binds it in), except /dev/disk: a tmpfs of the host's own
 * mount namespace, so a link made there is seen by that host only. The machine keeps the host's disks in
 * a record in its harness directory, and simhostRoot.sh links them again at every boot.
 */
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { shQuote } from "../components/shell/prelude";

/** The record's name in the host's harness directory: one `<name> <device>` line per disk. */
export const DISKS_FILE_NAME = "disks";

export interface HostDisk {
  /** The link's name in /dev/disk/by-id, e.g. "scsi-0HC_Volume_8001". */
  readonly name: string;
  /** The machine's block device it points at, e.g. "/dev/loop3". */
  readonly device: string;
}

const DISK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const DEVICE = /^\/dev\/[A-Za-z0-9_./-]+$/;

/** Names and devices become words of a boot script and file names: only plain ones pass. */
export function validateDisk(disk: HostDisk): void {
  if (!DISK_NAME.test(disk.name)) throw new Error(`invalid disk name ${JSON.stringify(disk.name)}`);
  if (!DEVICE.test(disk.device) || disk.device.includes("..")) {
    throw new Error(`invalid block device ${JSON.stringify(disk.device)}`);
  }
}

export function parseDisksRecord(text: string): HostDisk[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [name, device] = line.trim().split(/\s+/);
      return { name, device };
    });
}

export function formatDisksRecord(disks: readonly HostDisk[]): string {
  return disks.map((disk) => `${disk.name} ${disk.device}\n`).join("");
}

/** Reads, changes and writes the record of the host whose harness directory is `harness`. */
export async function updateDisksRecord(
  harness: string,
  change: (disks: HostDisk[]) => HostDisk[],
): Promise<void> {
  const file = path.join(harness, DISKS_FILE_NAME);
  const text = await readFile(file, "utf8").catch(() => "");
  await writeFile(file, formatDisksRecord(change(parseDisksRecord(text))));
}

/** Run inside the host: the link, replacing one of that name. */
export function linkDiskScript(disk: HostDisk): string {
  validateDisk(disk);
  return `ln -sfn ${shQuote(disk.device)} ${shQuote(`/dev/disk/by-id/${disk.name}`)}`;
}

/**
 * Run inside the host: unmounts whatever the host mounted from the disk, innermost first (a normal
 * unmount, or a lazy one while files are open: a process holding one keeps the file system until it
 * lets go, where on Hetzner it would get I/O errors), then removes the link. Mounts in the mount
 * namespaces of the host's containers are not seen from the host and stay.
 */
export function unlinkDiskScript(name: string): string {
  validateDisk({ name, device: "/dev/null" });
  return `set -eu
link=${shQuote(`/dev/disk/by-id/${name}`)}
[ -L "$link" ] || exit 0
device=$(readlink -f "$link")
if [ -b "$device" ]; then
  number=$(stat -L -c '%t:%T' "$device")
  devno=$((16#\${number%:*})):$((16#\${number#*:}))
  awk -v devno="$devno" '$3 == devno { print $5 }' /proc/self/mountinfo | tac | while read -r target; do
    target=$(printf '%b' "$target")
    umount "$target" 2>/dev/null || umount -l "$target"
  done
fi
rm -f "$link"
`;
}
