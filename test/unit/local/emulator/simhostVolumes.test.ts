import { existsSync } from "node:fs";
import { mkdtemp, open, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { SimHostBackend } from "../../../../local/emulator/simhostBackend";
import { RunCommand } from "../../../../local/emulator/volumeDisks";
import { VALID, fakeStarter, server } from "./simhostFakes";

const GIB = 1024 ** 3;

/**
 * SimHostBackend's volumes with the machine's commands recorded: a sparse file per volume, formatted by
 * mkfs; a loop device per attachment, linked in the host. test/integration/emulatorVolumes.test.ts runs
 * the same with real loop devices and real hosts.
 */
describe("SimHostBackend volumes", () => {
  let dir: string;
  let commands: string[];
  let stale: string;
  let missing: string[];

  /** losetup hands out /dev/loop0, 1, …; `missing` commands fail as if not installed. */
  const runCommand: RunCommand = async (command, args) => {
    commands.push([command, ...args].join(" "));
    if (missing.includes(command)) throw new Error(`Cannot run ${command}: spawn ${command} ENOENT`);
    let stdout = "";
    if (command === "losetup" && args[0] === "--associated") stdout = stale;
    if (command === "losetup" && args[0] === "--find")
      stdout = `/dev/loop${commands.filter((c) => c.startsWith("losetup --find")).length - 1}\n`;
    return { stdout, stderr: "", code: 0 };
  };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "hcd-volumes-"));
    [commands, stale, missing] = [[], "", []];
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function backendWithHosts(...ids: number[]) {
    const fake = fakeStarter();
    const backend = new SimHostBackend(fake.start, { volumesDir: dir, runCommand });
    for (const id of ids) await backend.create(server(VALID, id));
    return { fake, backend, file: (id: number) => path.join(dir, `volume-${id}.img`) };
  }

  test("a new volume is a sparse file of its size in GiB, formatted when a format is given", async () => {
    const { backend, file } = await backendWithHosts();
    await backend.createVolume({ id: 8001, sizeGb: 10, format: "ext4" });
    await backend.createVolume({ id: 8002, sizeGb: 20 });
    const info = await stat(file(8001));
    expect([info.size, info.blocks]).toEqual([10 * GIB, 0]);
    expect((await stat(file(8002))).size).toBe(20 * GIB);
    expect(commands).toEqual(["mkfs.ext4 -V", `mkfs.ext4 -q -F ${file(8001)}`]);
  });

  test("xfs without mkfs.xfs on the machine is refused before any file is made", async () => {
    const { backend, file } = await backendWithHosts();
    missing = ["mkfs.xfs"];
    await expect(backend.createVolume({ id: 8001, sizeGb: 10, format: "xfs" })).rejects.toThrow(
      new Error("volume 8001 cannot be formatted xfs: mkfs.xfs is not installed on this machine"),
    );
    expect(existsSync(file(8001))).toBe(false);
  });

  test("a volume created again under an ID starts empty", async () => {
    const { backend, file } = await backendWithHosts();
    await backend.createVolume({ id: 8001, sizeGb: 10 });
    await writeFile(file(8001), "old data");
    await backend.createVolume({ id: 8001, sizeGb: 10 });
    const handle = await open(file(8001));
    const { buffer } = await handle.read(Buffer.alloc(8), 0, 8, 0).finally(() => handle.close());
    expect(buffer).toEqual(Buffer.alloc(8));
  });

  test("attach puts a loop device on the file, after clearing a crashed run's, and links it in the host", async () => {
    const { fake, backend, file } = await backendWithHosts(4001);
    await backend.createVolume({ id: 8001, sizeGb: 10 });
    stale = `/dev/loop5: [65024]:99 (${file(8001)})\n`;
    await backend.attachVolume(4001, 8001);
    expect(commands).toEqual([
      `losetup --associated ${file(8001)}`,
      "losetup --detach /dev/loop5",
      `losetup --find --show ${file(8001)}`,
    ]);
    expect(fake.disks).toEqual(["s4001 attach scsi-0HC_Volume_8001 /dev/loop0"]);
  });

  test("attach to a server without a running host, or of a volume without a disk, is refused", async () => {
    const { backend, file } = await backendWithHosts(4001);
    await expect(backend.attachVolume(4002, 8001)).rejects.toThrow(
      new Error("server 4002 has no running host to attach volume 8001 to"),
    );
    await expect(backend.attachVolume(4001, 8001)).rejects.toThrow(
      new Error(`volume 8001 has no disk: ${file(8001)} does not exist`),
    );
    expect(commands).toEqual([]);
  });

  test("detach unlinks in the host first, then frees the loop device; the file stays", async () => {
    const { fake, backend, file } = await backendWithHosts(4001);
    await backend.createVolume({ id: 8001, sizeGb: 10 });
    await backend.attachVolume(4001, 8001);
    commands = [];
    await backend.detachVolume(4001, 8001);
    expect(fake.disks).toEqual([
      "s4001 attach scsi-0HC_Volume_8001 /dev/loop0",
      "s4001 detach scsi-0HC_Volume_8001",
    ]);
    expect(commands).toEqual(["losetup --detach /dev/loop0"]);
    expect(existsSync(file(8001))).toBe(true);
  });

  test("resize grows the file, and an attached loop device with it; the file system is left alone", async () => {
    const { backend, file } = await backendWithHosts(4001);
    await backend.createVolume({ id: 8001, sizeGb: 10, format: "ext4" });
    await backend.attachVolume(4001, 8001);
    commands = [];
    await backend.resizeVolume(8001, 15);
    expect((await stat(file(8001))).size).toBe(15 * GIB);
    expect(commands).toEqual(["losetup --set-capacity /dev/loop0"]);
  });

  test("delete removes the file", async () => {
    const { backend, file } = await backendWithHosts();
    await backend.createVolume({ id: 8001, sizeGb: 10 });
    await backend.deleteVolume(8001);
    expect(existsSync(file(8001))).toBe(false);
  });

  test("a deleted server's host stops first, then its volumes' loop devices go", async () => {
    const { fake, backend } = await backendWithHosts(4001, 4002);
    await backend.createVolume({ id: 8001, sizeGb: 10 });
    await backend.attachVolume(4001, 8001);
    commands = [];
    await backend.delete(4001);
    expect([fake.stopped, commands]).toEqual([["s4001"], ["losetup --detach /dev/loop0"]]);
  });

  test("close() stops the hosts, frees every loop device and keeps every file", async () => {
    const { fake, backend, file } = await backendWithHosts(4001, 4002);
    for (const [volume, host] of [
      [8001, 4001],
      [8002, 4002],
    ]) {
      await backend.createVolume({ id: volume, sizeGb: 10 });
      await backend.attachVolume(host, volume);
    }
    commands = [];
    await backend.close();
    expect(fake.stopped.sort()).toEqual(["s4001", "s4002"]);
    expect(commands.sort()).toEqual(["losetup --detach /dev/loop0", "losetup --detach /dev/loop1"]);
    expect([existsSync(file(8001)), existsSync(file(8002))]).toEqual([true, true]);
  });
});
