// Faults around an app's volume on a simulated host, with the very rollout script `pulumi up` runs: the
// volume's disk fills up (the app's writes fail, a redeploy says so in one line, every row written before
// is still there), and a recreate cut off after it stopped the old version is finished by the next
// deploy on the same data. Prints `data: <case>: rows before N, after N`. Needs root and setup-machine.sh.
import type { ServiceSpec } from "../../components/shell/service";
import { PROXY } from "../../components/shell/prelude";
import { reportScript } from "../../components/shell/report";
import { volumeDirectory } from "../../components/shell/volumes";
import {
  rollout,
  serviceSpec,
  ServingRig,
  setUpProxy,
  startServingRig,
  stopServingRig,
  viaProxy,
} from "../integration/serving";
import type { TestHost } from "../integration/support";

let rig: ServingRig;
let host: TestHost;
let refs: Record<string, string>;

const APP = "notes";
const VOLUMES = [{ name: "data", path: "/data" }];
const DIR = volumeDirectory(APP, VOLUMES[0]);

const spec = (ref: string, overrides: Partial<ServiceSpec> = {}) =>
  serviceSpec(host, APP, ref, {
    volumes: VOLUMES,
    strategy: "recreate",
    health: { path: "/", timeoutSeconds: 5, intervalSeconds: 1 },
    ...overrides,
  });

async function rows(): Promise<number> {
  const body = (await viaProxy(host, 8080, "/cgi-bin/rows")).trim();
  if (!/^\d+$/.test(body)) throw new Error(`GET /cgi-bin/rows answered ${body}`);
  return Number(body);
}
const add = async () => (await viaProxy(host, 8080, "/cgi-bin/add")).trim();

beforeAll(async () => {
  rig = await startServingRig(
    APP,
    { name: "ft-vol", address: "fd5e:0:0:e2::1" },
    {
      v1: { version: "notes v1", dataDir: "/data", user: "1000:1000" },
      v2: { version: "notes v2", dataDir: "/data", user: "1000:1000" },
    },
  );
  ({ host, refs } = rig);
  expect((await setUpProxy(host)).code).toBe(0);
  // The volume's disk: a file system of 64 KiB, so the app fills it within a few hundred rows.
  const disk = await host.sim.exec(`mkdir -p ${DIR} && mount -t tmpfs -o size=64k,mode=0755 tmpfs ${DIR}`);
  expect(disk.code).toBe(0);
  const first = await rollout(host, spec(refs.v1));
  expect([first.code, first.stderr]).toEqual([0, ""]);
}, 300_000);

afterAll(async () => {
  await host?.sim.exec(`umount ${DIR} 2>/dev/null; true`);
  await stopServingRig(rig);
}, 120_000);

test("the volume's disk full: writes fail, a redeploy says so in one line, every row is kept", async () => {
  for (let i = 0; i < 3; i++) expect(await add()).toMatch(/^\d+$/);
  // The rest of the disk taken by the app's other data.
  await host.sim.exec(`cat /dev/zero >${DIR}/other 2>/dev/null; true`);
  expect(await add()).toMatch(/No space left on device/);
  const before = await rows();
  expect(before).toBe(3);
  // What `npm run status` reads: a file system mounted there, and no space left on it.
  const report = await host.sim.exec(
    reportScript({
      proxySocket: PROXY.adminSocket,
      checks: [],
      volumes: [{ app: APP, name: "data", dir: DIR }],
    }),
  );
  expect(JSON.parse(report.stdout).volumes).toEqual([
    { app: APP, name: "data", exists: true, mounted: true, totalKiB: 64, availableKiB: 0 },
  ]);
  const redeploy = await rollout(host, spec(refs.v2));
  expect(redeploy.code).toBe(0);
  expect(redeploy.stderr).toBe(
    `hcloud-deploy: ${APP} on ft-vol: volume ${DIR} is full (0 KiB free): the app cannot write there; what it wrote is kept\n`,
  );
  const after = await rows();
  console.log(`data: volume disk full: rows before ${before}, after ${after}`);
  expect(after).toBe(before);
  expect(await viaProxy(host)).toBe("notes v2");
}, 120_000);

test("a recreate cut off after stopping the old version: the next deploy brings the app back on its data", async () => {
  // Make room again, then cut a recreate off right after its stop, as a lost deployer would.
  await host.sim.exec(`rm ${DIR}/other`);
  for (let i = 0; i < 4; i++) expect(await add()).toMatch(/^\d+$/);
  const before = await rows();
  const cut = await host.sim.exec(`docker stop --time 5 ${APP} >/dev/null`);
  expect(cut.code).toBe(0);
  expect(await viaProxy(host, 8080, "/cgi-bin/rows")).not.toMatch(/^\d+$/);
  const next = await rollout(host, spec(refs.v1));
  expect([next.code, next.stderr]).toEqual([0, ""]);
  const after = await rows();
  console.log(`data: recreate cut off, then the next deploy: rows before ${before}, after ${after}`);
  expect(after).toBe(before);
  expect(await viaProxy(host)).toBe("notes v1");
}, 120_000);
