// Volumes and the recreate strategy on a simulated host, with the very scripts `pulumi up` runs: an app
// that keeps rows in a host directory (as uid 1000, not root) keeps every row across a redeploy, a
// rollback, dockerd killed, a reboot and a new version that fails its check (the old one starts again on
// the same data); the release command sees the volume too. Prints `data: <case>: rows before N, after N`
// and, for each recreate, `recreate: <app> unavailable for X s` as the probe measured it. Needs root and
// setup-machine.sh.
import { overSshScript } from "../../components/shell/deployerCommand";
import { hostTagOf } from "../../components/shell/prelude";
import { releaseScript } from "../../components/shell/release";
import type { ServiceSpec } from "../../components/shell/service";
import { volumeDirectory } from "../../components/shell/volumes";
import { delay } from "../../local/exec";
import { startProbe } from "./probe";
import {
  rollout,
  runCommand,
  serviceSpec,
  ServingRig,
  setUpProxy,
  startServingRig,
  stopServingRig,
  viaProxy,
} from "./serving";
import { deployerKey, TestHost } from "./support";
import { rowsAcross } from "../support/rows";

let rig: ServingRig;
let host: TestHost;
let refs: Record<string, string>;

const APP = "notes";
const VOLUMES = [{ name: "data", path: "/data" }];
const app = { dataDir: "/data", user: "1000:1000" };

const spec = (ref: string, overrides: Partial<ServiceSpec> = {}) =>
  serviceSpec(host, APP, ref, {
    volumes: VOLUMES,
    strategy: "recreate",
    health: { path: "/", timeoutSeconds: 5, intervalSeconds: 1 },
    ...overrides,
  });

async function rows(): Promise<number> {
  const body = await viaProxy(host, 8080, "/cgi-bin/rows");
  const count = Number(body.trim());
  if (!Number.isInteger(count)) throw new Error(`GET /cgi-bin/rows answered ${body}`);
  return count;
}

async function addRows(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const body = await viaProxy(host, 8080, "/cgi-bin/add");
    if (!/^\d+$/.test(body.trim())) throw new Error(`GET /cgi-bin/add answered ${body}`);
  }
}

/** Waits until the app answers through the proxy again (after a crash or a reboot), at most 2 minutes. */
async function servingAgain(): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!/^\d+$/.test((await viaProxy(host, 8080, "/cgi-bin/rows")).trim())) {
    if (Date.now() > deadline) throw new Error("the app did not serve again within 2 minutes");
    await delay(500);
  }
}

/** Counts rows around `event` (after writing some more), prints the data line and returns both counts. */
const acrossEvent = (name: string, event: () => Promise<unknown>) =>
  rowsAcross({ count: rows, add: addRows }, name, event);

/** A recreate rollout of `ref` with the probe on the proxy: the result, and the gap the probe saw. */
async function recreate(name: string, ref: string) {
  const probe = startProbe(`recreate ${name}`, [{ url: `http://[${host.address}]:8080/` }]);
  const result = await rollout(host, spec(ref));
  const counts = await probe.stop();
  console.log(`recreate: ${APP} unavailable for ${(counts.longestGapMs / 1000).toFixed(2)} s (${name})`);
  return result;
}

beforeAll(async () => {
  rig = await startServingRig(
    APP,
    { name: "it-vol", address: "fd5e:0:0:e1::1" },
    {
      v1: { version: "notes v1", ...app },
      v2: { version: "notes v2", ...app },
      // httpd on another port: the check on 8080 never passes.
      deaf: { version: "deaf", port: 9999, ...app },
    },
  );
  ({ host, refs } = rig);
  expect((await setUpProxy(host)).code).toBe(0);
  const first = await rollout(host, spec(refs.v1));
  expect([first.code, first.stderr]).toEqual([0, ""]);
}, 300_000);

afterAll(() => stopServingRig(rig), 120_000);

test("the volume is a host directory under the product's path, owned by the image's user", async () => {
  const dir = volumeDirectory(APP, VOLUMES[0]);
  expect((await host.sim.exec(`stat -c '%u:%g %a' ${dir}`)).stdout.trim()).toBe("1000:1000 700");
  await addRows(2);
  expect(await rows()).toBe(2);
  expect((await host.sim.exec(`stat -c '%u' ${dir}/rows.d`)).stdout.trim()).toBe("1000");
});

test("a redeploy stops the old version first, and every row survives it", async () => {
  let result: Awaited<ReturnType<typeof recreate>> | undefined;
  const [before, after] = await acrossEvent("redeploy", async () => {
    result = await recreate("redeploy", refs.v2);
  });
  expect([result?.code, result?.stderr]).toEqual([0, ""]);
  expect(result?.stdout).toContain("recreate: stopping the running version first");
  expect(result?.stdout).toMatch(/recreate: the app was unavailable for \d+\.\ds\n/);
  expect(after).toBe(before);
  expect(await viaProxy(host)).toBe("notes v2");
});

test("a rollback keeps every row", async () => {
  const [before, after] = await acrossEvent("rollback", async () => {
    expect((await recreate("rollback", refs.v1)).code).toBe(0);
  });
  expect(after).toBe(before);
  expect(await viaProxy(host)).toBe("notes v1");
});

test("a new version that fails its check: the old one starts again on the same data, in one line", async () => {
  let result: Awaited<ReturnType<typeof recreate>> | undefined;
  const [before, after] = await acrossEvent("failed recreate", async () => {
    result = await recreate("failed check", refs.deaf);
  });
  expect(result?.code).toBe(1);
  expect(result?.stderr.trimEnd().split("\n").pop()).toBe(
    `hcloud-deploy: ${APP} on it-vol: health check GET / on port 8080 did not pass within 5s (HTTP 000); ` +
      "the previous version was started again on the same data",
  );
  expect(after).toBe(before);
  expect(await viaProxy(host)).toBe("notes v1");
});

test("dockerd killed: the app comes back with every row", async () => {
  const [before, after] = await acrossEvent("dockerd killed", async () => {
    await host.sim.exec("kill -9 $(cat /run/simhost/docker/pid)");
    await delay(1000);
    await servingAgain();
  });
  expect(after).toBe(before);
});

test("a reboot: the app comes back with every row", async () => {
  const [before, after] = await acrossEvent("host rebooted", async () => {
    await host.sim.reboot();
    await servingAgain();
  });
  expect(after).toBe(before);
});

test("the release command runs with the app's volumes", async () => {
  const expected = await rows();
  const script = overSshScript({
    subject: APP,
    hostName: host.sim.name,
    target: host.target,
    create: releaseScript({
      app: APP,
      hostName: host.sim.name,
      image: hostTagOf(APP, refs.v2),
      command: [
        "/bin/busybox",
        "sh",
        "-c",
        "echo rows: $(/bin/busybox ls /data/rows.d | /bin/busybox grep -c ^row)",
      ],
      timeoutSeconds: 20,
      memory: "64m",
      cpus: 0.5,
      volumes: VOLUMES,
    }),
  });
  const result = await runCommand(script, "create", `${deployerKey.privateKey.trimEnd()}\n`);
  expect(result.code).toBe(0);
  expect(result.stdout).toContain(`\nrows: ${expected}\n`);
});

test("a volume removed from config, then the app removed: the data stays on the host, in one line each", async () => {
  const dir = volumeDirectory(APP, VOLUMES[0]);
  const onDisk = async () => Number((await host.sim.exec(`ls ${dir}/rows.d | grep -c '^row'`)).stdout.trim());
  const before = await onDisk();
  const without = await rollout(host, spec(refs.v2, { volumes: [] }));
  expect(without.code).toBe(0);
  expect(without.stdout).toContain(
    `hcloud-deploy: ${APP} on it-vol: volume data is no longer in the config: its data stays in ${dir}\n`,
  );
  const removed = await rollout(host, spec(refs.v2, { volumes: [] }), "", "delete");
  expect(removed.code).toBe(0);
  expect(removed.stdout.trimEnd().split("\n").pop()).toBe(
    `hcloud-deploy: ${APP} on it-vol: its volumes stay in /var/lib/hcloud-deploy/volumes/${APP}: the product never deletes data`,
  );
  const after = await onDisk();
  console.log(`data: volume removed from config: rows before ${before}, after ${after}`);
  expect(after).toBe(before);
});
