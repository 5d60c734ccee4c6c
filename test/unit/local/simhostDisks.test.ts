import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  DISKS_FILE_NAME,
  formatDisksRecord,
  linkDiskScript,
  parseDisksRecord,
  unlinkDiskScript,
  updateDisksRecord,
  validateDisk,
} from "../../../local/simhostDisks";
import { describeFinding, shellcheck } from "../support/shellcheck";

describe("a simulated host's disks", () => {
  const disk = { name: "scsi-0HC_Volume_8001", device: "/dev/loop3" };

  test("the record is one `<name> <device>` line per disk and reads back as written", () => {
    const disks = [disk, { name: "scsi-0HC_Volume_8002", device: "/dev/loop12" }];
    expect(formatDisksRecord(disks)).toBe(
      "scsi-0HC_Volume_8001 /dev/loop3\nscsi-0HC_Volume_8002 /dev/loop12\n",
    );
    expect(parseDisksRecord(formatDisksRecord(disks))).toEqual(disks);
    expect(parseDisksRecord("")).toEqual([]);
  });

  test("updateDisksRecord starts from none and replaces what the change returns", async () => {
    const harness = await mkdtemp(path.join(tmpdir(), "hcd-disks-"));
    try {
      await updateDisksRecord(harness, (disks) => [...disks, disk]);
      await updateDisksRecord(harness, (disks) => [...disks, { name: "b", device: "/dev/loop4" }]);
      await updateDisksRecord(harness, (disks) => disks.filter((d) => d.name !== disk.name));
      expect(await readFile(path.join(harness, DISKS_FILE_NAME), "utf8")).toBe("b /dev/loop4\n");
    } finally {
      await rm(harness, { recursive: true, force: true });
    }
  });

  test.each([
    ["a name with a slash", { name: "../x", device: "/dev/loop3" }, 'invalid disk name "../x"'],
    ["a name with a space", { name: "a b", device: "/dev/loop3" }, 'invalid disk name "a b"'],
    ["a device outside /dev", { name: "a", device: "/etc/passwd" }, 'invalid block device "/etc/passwd"'],
    [
      "a device climbing out of /dev",
      { name: "a", device: "/dev/../etc" },
      'invalid block device "/dev/../etc"',
    ],
  ])("%s is refused before it reaches a script or the record", (_name, bad, message) => {
    expect(() => validateDisk(bad)).toThrow(new Error(message));
    expect(() => linkDiskScript(bad)).toThrow(new Error(message));
  });

  test("the link replaces one of the same name in the host's /dev/disk/by-id", () => {
    expect(linkDiskScript(disk)).toBe("ln -sfn '/dev/loop3' '/dev/disk/by-id/scsi-0HC_Volume_8001'");
  });

  test("shellcheck finds nothing in the link and unlink scripts", () => {
    const findings = shellcheck([
      { name: "linkDiskScript", shell: "bash", text: `#!/bin/bash\n${linkDiskScript(disk)}\n` },
      { name: "unlinkDiskScript", shell: "bash", text: `#!/bin/bash\n${unlinkDiskScript(disk.name)}` },
    ]);
    expect(findings.map(describeFinding)).toEqual([]);
  });
});
