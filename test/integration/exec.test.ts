// `npm run exec` on a simulated host, with the very deployer script the command runs (ops/exec.ts
// runExec): the key on descriptor 3 over the pinned-key SSH, stdin passed to the command, its exit status
// returned; `--new` in a fresh container made like the app's (env, volume, network) and removed after.
// Needs root and setup-machine.sh.
import { runExec } from "../../ops/exec";
import { ServingRig, startApiWithVolume, stopServingRig } from "./serving";
import { deployerKey, TestHost } from "./support";

let rig: ServingRig;
let host: TestHost;

const containers = async () =>
  (await host.sim.exec("docker ps -a --format '{{.Names}}' | sort")).stdout.trim().split("\n");

function exec(command: string[], fresh = false, input = "") {
  return runExec(
    { hostName: host.sim.name, target: host.target },
    { app: "api", fresh, command },
    deployerKey.privateKey,
    {
      mode: "pipe",
      input,
    },
  );
}

beforeAll(async () => {
  rig = await startApiWithVolume({ name: "it-exec", address: "fd5e:0:0:b1::1" });
  host = rig.host;
}, 300_000);

afterAll(() => stopServingRig(rig), 120_000);

test.each([
  [
    0,
    ["/bin/busybox", "sh", "-c", 'echo "$GREETING" > /data/note; cat /data/note'],
    "hello from the env file\n",
  ],
  [3, ["/bin/busybox", "sh", "-c", "echo about to fail; exit 3"], "about to fail\n"],
])("exec in the running container: exit %d is the command's", async (code, command, stdout) => {
  const run = await exec(command);
  process.stdout.write(`exec: api exit ${run.code}\n`);
  expect([run.code, run.stdout, run.stderr]).toEqual([code, stdout, ""]);
});

test("stdin reaches the command whole, after the key on its own descriptor", async () => {
  const run = await exec(["/bin/busybox", "wc", "-l"], false, "one\ntwo\nthree\n");
  expect([run.code, run.stdout.trim(), run.stderr]).toEqual([0, "3", ""]);
});

test("--new: a fresh container with the app's env and volume, gone afterwards", async () => {
  const running = await host.sim.exec("docker inspect --format '{{.Config.Hostname}}' api");
  const run = await exec(["/bin/busybox", "sh", "-c", 'echo "$GREETING"; cat /data/note; hostname'], true);
  process.stdout.write(`exec: api --new exit ${run.code}\n`);
  const [greeting, note, hostname] = run.stdout.trim().split("\n");
  expect([run.code, greeting, note, run.stderr]).toEqual([
    0,
    "hello from the env file",
    "hello from the env file",
    "",
  ]);
  expect(hostname).not.toBe(running.stdout.trim());
  expect(await containers()).toEqual(["api"]);
});

test("--new with the app stopped still runs; without --new it fails in one line", async () => {
  expect((await host.sim.exec("docker stop api")).code).toBe(0);
  try {
    const plain = await exec(["/bin/busybox", "true"]);
    expect([plain.code, plain.stderr]).toEqual([
      1,
      "hcloud-deploy: api on it-exec: the app's container is not running (npm run status says why; --new runs the command in a fresh one)\n",
    ]);
    const fresh = await exec(["/bin/busybox", "cat", "/data/note"], true);
    expect([fresh.code, fresh.stdout]).toEqual([0, "hello from the env file\n"]);
  } finally {
    expect((await host.sim.exec("docker start api")).code).toBe(0);
  }
});

test("an app the host does not run fails in one line", async () => {
  const run = await runExec(
    { hostName: host.sim.name, target: host.target },
    { app: "worker", fresh: false, command: ["true"] },
    deployerKey.privateKey,
    { mode: "pipe", input: "" },
  );
  expect([run.code, run.stderr]).toEqual([
    1,
    "hcloud-deploy: worker on it-exec: no container of this app on the host (not deployed here yet? see npm run status)\n",
  ]);
});
