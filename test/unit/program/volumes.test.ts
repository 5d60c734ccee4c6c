// App volumes under mocks: a directory volume adds no resource; a volume with a size is a Hetzner Volume
// in its host's location, attached to the host's server and mounted before the app's release command and
// rollout, kept when it leaves the stack unless the stack deletes data; a shrink fails the preview.
import { ProgramRun, runProgram, stackConfig } from "../support/program";
import { hostScriptOf } from "../support/scripts";

const APPS = [
  { name: "web", hosts: ["web-1", "web-2"], build: { context: "apps/web" }, port: 8080, hostPort: 80 },
  {
    name: "db",
    hosts: ["web-2"],
    build: { context: "apps/db" },
    port: 5432,
    hostPort: 5432,
    volumes: [
      { name: "data", path: "/var/lib/postgresql/data", size: 20 },
      { name: "scratch", path: "/scratch" },
    ],
    health: { type: "tcp" },
    release: { command: ["./migrate"] },
  },
];

describe("an app with a Hetzner Volume and a directory volume", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(stackConfig("dev", { "hcloud-deploy:apps": APPS }));
  });

  test("one HostVolume, for the volume with a size, with its Volume, attachment and mount", () => {
    expect(run.ofType("hcloud-deploy:volume:HostVolume").map((r) => r.name)).toEqual(["db-data-volume"]);
    expect(run.ofType("hcloud:index/volume:Volume").map((r) => r.name)).toEqual(["db-data-volume-disk"]);
    expect(run.ofType("hcloud:index/volumeAttachment:VolumeAttachment").map((r) => r.name)).toEqual([
      "db-data-volume-attachment",
    ]);
    for (const child of ["db-data-volume-disk", "db-data-volume-attachment", "db-data-volume-mount"])
      expect(run.named(child).parentName).toBe("db-data-volume");
  });

  test("the Volume: its host's location, ext4 made by Hetzner, labelled, kept when it leaves the stack", () => {
    const volume = run.named("db-data-volume-disk");
    expect(volume.type).toBe("hcloud:index/volume:Volume");
    expect(volume.inputs).toEqual({
      size: 20,
      location: "fsn1",
      format: "ext4",
      automount: false,
      labels: { project: "hcloud-deploy", stack: "dev", app: "db", volume: "data" },
    });
    expect(volume.opts.retainOnDelete).toBe(true);
  });

  test("the attachment: to the host's server, the old server letting go first on a replacement", () => {
    const attachment = run.named("db-data-volume-attachment");
    expect(attachment.inputs).toEqual({
      volumeId: expect.any(Number),
      serverId: expect.any(Number),
      automount: false,
    });
    expect(attachment.opts.deleteBeforeReplace).toBe(true);
  });

  test("the mount: by the stable device path, in fstab before Docker, never formatting", () => {
    const mount = run.named("db-data-volume-mount").inputs;
    const create = hostScriptOf(mount.environment.HCLOUD_DEPLOY_SCRIPT, "create");
    expect(create).toMatch(
      // The mocks' volume ID.
      /device='\/dev\/disk\/by-id\/scsi-0HC_Volume_db-data-volume-disk-id' dir='\/var\/lib\/hcloud-deploy\/volumes\/db\/data'/,
    );
    expect(create).toContain("x-systemd.before=docker.service");
    expect(create).not.toMatch(/mkfs/);
    const remove = hostScriptOf(mount.environment.HCLOUD_DEPLOY_SCRIPT, "delete");
    expect(remove).toMatch(/unmounted; Hetzner Volume db-data-volume-disk-id is kept with its data/);
    expect(mount.triggers).toEqual([expect.any(String), expect.any(String)]);
  });

  test("the release command and the rollout wait for the mount and mount both volumes", () => {
    const waitsFor = (name: string) =>
      ((run.named(name).opts.dependsOn ?? []) as { __name?: string }[]).map((r) => r.__name);
    expect(waitsFor("db-release")).toEqual(["db-data-volume"]);
    expect(waitsFor("db-on-web-2-service")).toEqual(["db-release", "db-data-volume"]);
    const rollout = hostScriptOf(
      run.named("db-on-web-2-service-rollout").inputs.environment.HCLOUD_DEPLOY_SCRIPT,
      "create",
    );
    expect(rollout).toContain(
      "--mount type=bind,source=/var/lib/hcloud-deploy/volumes/db/data,target=/var/lib/postgresql/data " +
        "--mount type=bind,source=/var/lib/hcloud-deploy/volumes/db/scratch,target=/scratch",
    );
    expect(rollout).toContain("mountpoint -q '/var/lib/hcloud-deploy/volumes/db/data' || fail");
    expect(rollout).toContain('say "recreate: stopping the running version first');
  });

  test("the stack exports each Hetzner Volume's size", async () => {
    expect(run.outputs.volumeSizes).toEqual({ "db/data": 20 });
  });
});

test("with deleteData on, the Volume goes with the stack and the removal says so", async () => {
  const run = await runProgram(
    stackConfig("dev", { "hcloud-deploy:apps": APPS, "hcloud-deploy:deleteData": "true" }),
  );
  expect(run.named("db-data-volume-disk").opts.retainOnDelete).toBe(false);
  const remove = hostScriptOf(
    run.named("db-data-volume-mount").inputs.environment.HCLOUD_DEPLOY_SCRIPT,
    "delete",
  );
  expect(remove).toMatch(
    /Hetzner Volume db-data-volume-disk-id is deleted with its data \(hcloud-deploy:deleteData is on\)/,
  );
});

test("a size below the last deployment's fails the preview in one line", async () => {
  await expect(
    runProgram(stackConfig("dev", { "hcloud-deploy:apps": APPS }), {
      previousOutputs: { serverIds: { "web-1": "1", "web-2": "2" }, volumeSizes: { "db/data": 30 } },
    }),
  ).rejects.toThrow(
    'hcloud-deploy:apps[1].volumes[0].size: 20 GB is smaller than the 30 GB volume "data" of app "db" has: ' +
      "Hetzner Volumes only grow (copy the data to a new volume to shrink)",
  );
});
