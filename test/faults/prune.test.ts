// Pruning on a simulated host, through the rollout `pulumi up` runs: ten releases of two
// apps leave a bounded number of images and bytes; images a container uses or the stack pins survive;
// dangling images go unless a delivery holds the image lock. Needs root and scripts/setup-machine.sh.
import path from "node:path";
import { shQuote } from "../../components/shell/prelude";
import { pruneScript } from "../../components/shell/prune";
import { ServiceSpec } from "../../components/shell/service";
import { HARNESS_STATE_ROOT } from "../../local/dockerd";
import { run } from "../../local/exec";
import { stopAllSimHosts } from "../../local/simhost";
import { rollout, setUpProxy } from "../integration/serving";
import { serviceSpec } from "./support";
import {
  hostEngine,
  httpGet,
  releaseOnHost,
  runOnHost,
  startTestHost,
  TestHost,
} from "../integration/support";

const RELEASES = 10;
const PADDING_MIB = 4;
const KEEP = 3;
let host: TestHost;

function spec(app: string, image: string, hostPort: number): ServiceSpec {
  return { ...serviceSpec(host, app, image, hostPort), env: {}, keepImages: KEEP };
}

async function tags(app: string): Promise<string[]> {
  const out = await runOnHost(
    host,
    `docker image ls --format '{{.Repository}}:{{.Tag}}' hcloud-deploy/${app}`,
  );
  return out.stdout.trim().split("\n").filter(Boolean).sort();
}

/** Bytes under the host's Docker data root (images, layers, containers). */
async function dataRootBytes(): Promise<number> {
  const root = path.join(HARNESS_STATE_ROOT, "hosts", host.sim.name, "disk", "var", "lib", "docker");
  return Number((await run("du", ["-sb", root])).stdout.split("\t")[0]);
}

async function dockerOnHost(args: string[]): Promise<string> {
  const env = { ...process.env, DOCKER_HOST: hostEngine(host).dockerHost };
  return (await run("docker", args, { env })).stdout.trim();
}

beforeAll(async () => {
  host = await startTestHost("it-prune", "fd5e:0:0:f6::1", []);
  const proxy = await setUpProxy(host);
  expect([proxy.code, proxy.stderr]).toEqual([0, ""]);
}, 120_000);

afterAll(async () => {
  await stopAllSimHosts();
}, 60_000);

test("ten releases of two apps: the newest three of each stay, disk stays bounded", async () => {
  // A release of web that a stopped container still uses (say, kept for a look at its logs).
  const old = await releaseOnHost(host, "web", "web v0", PADDING_MIB);
  await dockerOnHost(["create", "--name", "web-inspect", old]);
  const released: Record<string, string[]> = { web: [], api: [] };
  const bytes: number[] = [];
  for (let i = 1; i <= RELEASES; i++) {
    for (const [app, port] of [
      ["web", 8080],
      ["api", 8081],
    ] as const) {
      const tag = await releaseOnHost(host, app, `${app} v${i}`, PADDING_MIB);
      released[app].push(tag);
      const result = await rollout(host, spec(app, tag, port));
      expect([result.code, result.stderr]).toEqual([0, ""]);
      expect(result.stdout).toMatch(/pruned \d+ old image\(s\), kept \d+; dangling images: /);
    }
    bytes.push(await dataRootBytes());
    expect((await tags("api")).length).toBeLessThanOrEqual(KEEP);
  }
  process.stderr.write(
    `prune: data root after each of ${RELEASES} releases of web and api (${PADDING_MIB} MiB each, keepImages ${KEEP}): ` +
      `${bytes.map((b) => (b / 1048576).toFixed(1)).join(", ")} MiB\n`,
  );
  expect(await httpGet(host.address, 8080)).toBe(`web v${RELEASES}`);
  expect(await httpGet(host.address, 8081)).toBe(`api v${RELEASES}`);
  expect(await tags("api")).toEqual(released.api.slice(-KEEP).sort());
  // The stopped container's image survives, besides the newest three.
  expect(await tags("web")).toEqual([old, ...released.web.slice(-KEEP)].sort());
  // Bounded: from the fourth release on, each release's image replaces one that goes.
  const growth = bytes[RELEASES - 1] - bytes[KEEP];
  expect(growth).toBeLessThan(2 * 1048576);
  // Each swap waits out busybox's 10 s stop timeout: twenty releases take minutes.
}, 600_000);

test("a pinned image survives a prune that would otherwise take it", async () => {
  const [oldest, middle, newest] = await tags("api").then((t) =>
    Promise.all(
      t.map(async (tag) => [
        tag,
        await dockerOnHost(["image", "inspect", "--format", "{{json .Metadata.LastTagTime}}", tag]),
      ]),
    ).then((pairs) =>
      pairs.sort((a, b) => Date.parse(JSON.parse(a[1])) - Date.parse(JSON.parse(b[1]))).map(([tag]) => tag),
    ),
  );
  const result = await runOnHost(
    host,
    pruneScript({ app: "api", hostName: "it-prune", keep: 1, pinned: [oldest] }),
  );
  expect(result.stdout).toContain("hcloud-deploy: api on it-prune: pruned 1 old image(s), kept 2;");
  expect(await tags("api")).toEqual([oldest, newest].sort());
  expect(await tags("api")).not.toContain(middle);
});

test("dangling images go, but not while a delivery holds the image lock", async () => {
  // Two builds under one name: the first becomes dangling.
  const first = await releaseOnHost(host, "scratch", "one");
  await dockerOnHost(["tag", first, "moved:here"]);
  await dockerOnHost(["rmi", first]);
  const second = await releaseOnHost(host, "scratch", "two");
  await dockerOnHost(["tag", second, "moved:here"]);
  const dangling = async () =>
    (await dockerOnHost(["image", "ls", "-q", "--filter", "dangling=true"])).split("\n").filter(Boolean);
  expect(await dangling()).toHaveLength(1);

  const holder = await host.sim.exec(
    `(exec 9>/run/hcloud-deploy.images.lock; flock -s 9; sleep 30) >/dev/null 2>&1 & echo $!`,
  );
  const busy = await runOnHost(
    host,
    pruneScript({ app: "api", hostName: "it-prune", keep: KEEP, pinned: [] }),
  );
  expect(busy.stdout).toContain("dangling images: skipped (a delivery is loading)");
  expect(await dangling()).toHaveLength(1);

  await host.sim.exec(`kill ${shQuote(holder.stdout.trim())}; pkill -x sleep || true`);
  const free = await runOnHost(
    host,
    pruneScript({ app: "api", hostName: "it-prune", keep: KEEP, pinned: [] }),
  );
  expect(free.stdout).not.toContain("skipped");
  expect(await dangling()).toEqual([]);
});
