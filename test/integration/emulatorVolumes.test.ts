// Hetzner Volumes through the emulator as real disks of simulated hosts: a loop device on a sparse file,
// linked at /dev/disk/by-id/scsi-0HC_Volume_<id> inside the host it is attached to. Needs root, the
// machine lock and the hosts' root file systems (test/support/hostsSetup.ts).
import { existsSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import path from "node:path";
import { renderCloudInit } from "../../components/cloudInit";
import { generateEd25519KeyPair } from "../../components/sshKeys";
import { HARNESS_STATE_ROOT } from "../../local/dockerd";
import { RunningEmulator, startEmulator } from "../../local/emulator/emulator";
import { SimHostBackend } from "../../local/emulator/simhostBackend";
import { run } from "../../local/exec";
import { SimHost, startSimHost } from "../../local/simhost";
import { TEST_HOST_IMAGE } from "../support/hostRelease";
import { api } from "./lbSupport";

const PREFIX = "vol";
const IPV6_POOL = "fd5e:1d00::/32";
const GIB = 1024 ** 3;

let workDir: string;
let stateFile: string;
let emulator: RunningEmulator | undefined;
const hosts = new Map<number, SimHost>();
const ids = { a: 0, b: 0, volume: 0 };

/** The emulator as the local stack runs it, its volumes' files in this test's directory. */
async function startVolumeEmulator(): Promise<RunningEmulator> {
  const backend = new SimHostBackend(
    async (spec) => {
      const host = await startSimHost(spec);
      hosts.set(Number(spec.name.slice(PREFIX.length)), host);
      return host;
    },
    { hostNamePrefix: PREFIX, volumesDir: path.join(workDir, "volumes") },
  );
  return startEmulator({ hosts: backend, stateFile, ipv6Pool: IPV6_POOL });
}

const call = async (method: string, urlPath: string, body?: unknown) => {
  const res = await api(emulator!.endpoint, method, urlPath, body);
  if (res.status >= 300) throw new Error(`${method} ${urlPath}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
};

/** Runs `script` on the host of server `id`; its stdout, trimmed, or the failure with stderr. */
async function onHost(id: number, script: string): Promise<string> {
  const result = await hosts.get(id)!.exec(script);
  if (result.code !== 0) throw new Error(`on server ${id}: exit ${result.code}: ${result.stderr}`);
  return result.stdout.trim();
}

const device = () => `/dev/disk/by-id/scsi-0HC_Volume_${ids.volume}`;
const volumeFile = () => path.join(workDir, "volumes", `volume-${ids.volume}.img`);
const loopsOnFile = async () => (await run("losetup", ["--associated", volumeFile()])).stdout.trim();
const mountAndRead = (id: number) =>
  onHost(id, `mkdir -p /mnt/x && mount ${device()} /mnt/x && cat /mnt/x/note && umount /mnt/x`);

beforeAll(async () => {
  // On the harness's disk: loop devices on a file in a tmpfs would hold the volume in memory.
  workDir = await mkdtemp(path.join(HARNESS_STATE_ROOT, "volumes-test-"));
  stateFile = path.join(workDir, "hcloud.json");
  emulator = await startVolumeEmulator();
  const server = async (name: string) => {
    const userData = renderCloudInit({
      hostKey: generateEd25519KeyPair(name),
      generation: 1,
      dns64Servers: [],
      tls: { issuer: "internal" },
    });
    const body = { name, server_type: "cx23", image: TEST_HOST_IMAGE, location: "fsn1", user_data: userData };
    const res = await call("POST", "/servers", {
      ...body,
      public_net: { enable_ipv4: false, enable_ipv6: true },
    });
    if (res.action.status !== "success") throw new Error(`server ${name}: ${JSON.stringify(res.action)}`);
    return res.server.id as number;
  };
  [ids.a, ids.b] = [await server("vol-a"), await server("vol-b")];
}, 300_000);

afterAll(async () => {
  await emulator?.close();
  if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
}, 120_000);

test("a volume formatted ext4 is a sparse file of its size with an ext4 file system", async () => {
  const res = await call("POST", "/volumes", { name: "notes", size: 10, location: "fsn1", format: "ext4" });
  ids.volume = res.volume.id;
  expect([res.action.status, res.volume.linux_device]).toEqual(["success", device()]);
  const info = await stat(volumeFile());
  expect(info.size).toBe(10 * GIB);
  expect(info.blocks * 512).toBeLessThan(GIB);
  expect((await run("blkid", ["-o", "value", "-s", "TYPE", volumeFile()])).stdout.trim()).toBe("ext4");
});

test("attached, the host sees it at its linux_device, of its size; the other host does not", async () => {
  const res = await call("POST", `/volumes/${ids.volume}/actions/attach`, {
    server: ids.a,
    automount: false,
  });
  expect(res.action.status).toBe("success");
  expect(await onHost(ids.a, `test -b ${device()} && blockdev --getsize64 ${device()}`)).toBe(
    String(10 * GIB),
  );
  expect(await onHost(ids.b, `ls -A /dev/disk/by-id`)).toBe("");
  expect(await loopsOnFile()).toMatch(/^\/dev\/loop\d+: /);
});

test("what the host writes to it is there again after a reboot, where the link comes back", async () => {
  await onHost(
    ids.a,
    `mkdir -p /mnt/x && mount ${device()} /mnt/x && echo written-on-a >/mnt/x/note && sync`,
  );
  await hosts.get(ids.a)!.reboot();
  expect(await onHost(ids.a, "mountpoint -q /mnt/x || echo not-mounted")).toBe("not-mounted");
  expect(await mountAndRead(ids.a)).toBe("written-on-a");
}, 120_000);

test("detached while mounted, the host loses the mount and the link, and the loop device goes", async () => {
  await onHost(ids.a, `mount ${device()} /mnt/x`);
  expect((await call("POST", `/volumes/${ids.volume}/actions/detach`)).action.status).toBe("success");
  expect(await onHost(ids.a, `mountpoint -q /mnt/x || echo not-mounted; ls -A /dev/disk/by-id`)).toBe(
    "not-mounted",
  );
  expect(await loopsOnFile()).toBe("");
});

test("attached to the second server, the data is there", async () => {
  await call("POST", `/volumes/${ids.volume}/actions/attach`, { server: ids.b });
  expect(await mountAndRead(ids.b)).toBe("written-on-a");
});

test("resized, the host sees the larger device while the file system keeps its size", async () => {
  expect((await call("POST", `/volumes/${ids.volume}/actions/resize`, { size: 12 })).action.status).toBe(
    "success",
  );
  expect(await onHost(ids.b, `blockdev --getsize64 ${device()}`)).toBe(String(12 * GIB));
  const superblock = (await run("dumpe2fs", ["-h", volumeFile()])).stdout;
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)$`, "m").exec(superblock)?.[1]);
  expect(field("Block count") * field("Block size")).toBe(10 * GIB);
});

test("a restarted emulator attaches the volume to the server's new host again; the data is there", async () => {
  await emulator!.close();
  emulator = undefined;
  expect(await loopsOnFile()).toBe("");
  emulator = await startVolumeEmulator();
  const volume = (await call("GET", `/volumes/${ids.volume}`)).volume;
  expect([volume.server, volume.size]).toEqual([ids.b, 12]);
  expect(await mountAndRead(ids.b)).toBe("written-on-a");
}, 300_000);

test("deleting the server detaches the volume; deleting the volume removes its file", async () => {
  await call("DELETE", `/servers/${ids.b}`);
  expect((await call("GET", `/volumes/${ids.volume}`)).volume.server).toBeNull();
  expect(await loopsOnFile()).toBe("");
  await call("DELETE", `/volumes/${ids.volume}`);
  expect(existsSync(volumeFile())).toBe(false);
}, 120_000);
