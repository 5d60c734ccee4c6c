// Release commands on a simulated host, with the very script `pulumi up` runs (ReleaseCommand's
// `<app>-release-run`): a one-off container of the new image with the app's env on the apps' network; a
// passing one shows its output, a failing or hung one fails in one line after its last output lines and
// leaves no container behind, and the version that serves keeps serving. Needs root and setup-machine.sh.
import { overSshScript } from "../../components/shell/deployerCommand";
import { hostTagOf } from "../../components/shell/prelude";
import { releaseScript } from "../../components/shell/release";
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

let rig: ServingRig;
let host: TestHost;
let refs: Record<string, string>;

function release(ref: string, command: string[], timeoutSeconds = 20, envFile = "") {
  const script = overSshScript({
    subject: "api",
    hostName: host.sim.name,
    target: host.target,
    create: releaseScript({
      app: "api",
      hostName: host.sim.name,
      image: hostTagOf("api", ref),
      command,
      timeoutSeconds,
      memory: "64m",
      cpus: 0.5,
    }),
  });
  return runCommand(script, "create", `${deployerKey.privateKey.trimEnd()}\n${envFile}`);
}

const containers = async () =>
  (await host.sim.exec("docker ps -a --format '{{.Names}}' | sort")).stdout.trim().split("\n");

beforeAll(async () => {
  rig = await startServingRig(
    "api",
    { name: "it-rel", address: "fd5e:0:0:f6::1" },
    {
      v1: { version: "api v1" },
      v2: { version: "api v2" },
    },
  );
  ({ host, refs } = rig);
  expect((await setUpProxy(host)).code).toBe(0);
  expect((await rollout(host, serviceSpec(host, "api", refs.v1))).code).toBe(0);
}, 300_000);

afterAll(() => stopServingRig(rig), 120_000);

test("a passing release command runs once with the app's env and shows its output", async () => {
  const result = await release(
    refs.v2,
    ["/bin/busybox", "sh", "-c", 'echo "migrating $DATABASE_URL"; echo schema 2'],
    20,
    "DATABASE_URL=postgres://db/app\n",
  );
  expect([result.code, result.stderr]).toEqual([0, ""]);
  expect(result.stdout).toMatch(
    /^hcloud-deploy: api on it-rel: running release command \/bin\/busybox sh -c echo "migrating \$DATABASE_URL"; echo schema 2 from hcloud-deploy\/api:[0-9a-f]{64}\nmigrating postgres:\/\/db\/app\nschema 2\nhcloud-deploy: api on it-rel: release command passed in \d+s\n$/,
  );
  expect(await containers()).toEqual(["api"]);
  // The env file with its secret is gone from the host.
  expect((await host.sim.exec("ls /etc/hcloud-deploy/api/release.env")).code).not.toBe(0);
});

test.each([
  [
    "exits non-zero",
    ["/bin/busybox", "sh", "-c", "echo step 1; echo 'column exists' >&2; exit 3"],
    20,
    /release command \/bin\/busybox sh -c echo step 1; echo 'column exists' >&2; exit 3 exited with status 3 after \d+s; nothing was rolled, the previous version keeps serving$/,
    ["step 1", "column exists"],
  ],
  [
    "does not finish in time",
    ["/bin/busybox", "sh", "-c", "echo waiting for a lock; sleep 60"],
    3,
    /release command \/bin\/busybox sh -c echo waiting for a lock; sleep 60 did not finish within 3s; nothing was rolled, the previous version keeps serving$/,
    ["waiting for a lock"],
  ],
])(
  "a release command that %s fails in one line after its output; the app keeps serving",
  async (_, command, timeout, line, output) => {
    const probe = startProbe(`release ${_}`, [{ url: `http://[${host.address}]:8080/` }]);
    const result = await release(refs.v2, command, timeout);
    const counts = await probe.stop();
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines.pop()).toMatch(new RegExp(`^hcloud-deploy: api on it-rel: ${line.source}`));
    // The command's stdout and stderr come through Docker as two streams: their order is not kept.
    expect(lines.slice(-output.length).sort()).toEqual([...output].sort());
    expect(counts.failed).toBe(0);
    expect(await viaProxy(host)).toBe("api v1");
    expect(await containers()).toEqual(["api"]);
  },
);
