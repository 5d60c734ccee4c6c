// Faults that leave a host other than the stack wants it, seen through `npm run status`'s own code
// (ops/statusCommand askHosts) over the pinned-key SSH prelude, and repaired the way `--repair` does:
// a forced replacement runs the service's create again, then the old resource's delete.
import { generateEd25519KeyPair, parsePublicKey } from "../../components/sshKeys";
import { logsScript } from "../../components/shell/logs";
import { overSsh } from "../../components/shell/report";
import { callHost } from "../../ops/hostCall";
import { askHosts } from "../../ops/statusCommand";
import { driftLines } from "../../ops/status";
import { stopAllSimHosts } from "../../local/simhost";
import {
  deployerKey,
  httpGet,
  releaseOnHost,
  runOnHost,
  startTestHost,
  TestHost,
} from "../integration/support";
import { rollout, setUpProxy } from "../integration/serving";
import { desiredHost, outcome, serviceSpec } from "./support";

let host: TestHost;
let tags: { web: string; api: string; other: string };
const wanted = () =>
  desiredHost({ ...host, name: host.sim.name }, [
    { app: "api", tag: tags.api, hostPort: 8081 },
    { app: "web", tag: tags.web, hostPort: 8080 },
  ]);
const drift = async () => driftLines(await askHosts([wanted()], deployerKey.privateKey));
const docker = (args: string) => runOnHost(host, `docker ${args}`);

/** What `--repair` makes happen on the host: the replacement's create, then the original's delete. */
async function repair(app: "web" | "api"): Promise<string> {
  const spec = serviceSpec(host, app, tags[app], app === "web" ? 8080 : 8081);
  const created = await rollout(host, spec, "MODE=faults\n", "create");
  expect([created.code, created.stderr]).toEqual([0, ""]);
  const deleted = await rollout(host, spec, "", "delete");
  return deleted.stdout.trim();
}

beforeAll(async () => {
  host = await startTestHost("ft-drift", "fd5e:0:0:f7::1", []);
  const proxy = await setUpProxy(host);
  expect([proxy.code, proxy.stderr]).toEqual([0, ""]);
  tags = {
    web: await releaseOnHost(host, "web", "web v1"),
    api: await releaseOnHost(host, "api", "api v1"),
    other: await releaseOnHost(host, "web", "web v0"),
  };
  for (const app of ["web", "api"] as const) {
    const spec = serviceSpec(host, app, tags[app], app === "web" ? 8080 : 8081);
    const started = await rollout(host, spec, "MODE=faults\n");
    expect([started.code, started.stderr]).toEqual([0, ""]);
  }
}, 180_000);

afterAll(async () => {
  await stopAllSimHosts();
}, 60_000);

test("a host as the stack wants it: no drift", async () => {
  expect(await drift()).toEqual([]);
});

test("dockerd kills a container (SIGKILL): drift until a repair; the replaced resource leaves it serving", async () => {
  await docker("kill web");
  expect(await drift()).toEqual(["web on ft-drift: container exited (137)"]);
  expect(await repair("web")).toBe(
    "hcloud-deploy: web on ft-drift: a replacement of this deployment took the container over; left in place",
  );
  expect(await httpGet(host.address, 8080)).toBe("web v1");
  expect(await drift()).toEqual([]);
  outcome(
    "container SIGKILLed",
    "status reported `container exited (137)`; after the repair it serves, no drift",
  );
});

test("a container removed by hand: drift says so; the repair starts it again", async () => {
  await docker("rm -f api");
  expect(await drift()).toEqual(["api on ft-drift: no container"]);
  await repair("api");
  expect(await httpGet(host.address, 8081)).toBe("api v1");
  expect(await drift()).toEqual([]);
});

test("another image started under the app's label: drift names both digests", async () => {
  await docker("rm -f web");
  // Apps publish no port (the proxy reaches them), so neither does this one.
  await docker(`run -d --name web --label hcloud-deploy.app=web ${tags.other}`);
  const short = (tag: string) => `sha256:${tag.split(":").pop()!.slice(0, 12)}…`;
  // Started by hand, it is not on the apps' network either: the proxy's route does not reach it.
  expect(await drift()).toEqual([
    `web on ft-drift: runs ${short(tags.other)} instead of ${short(tags.web)}; health check failing (HTTP 000)`,
  ]);
  await docker("rm -f web");
  await repair("web");
  expect(await drift()).toEqual([]);
});

test("the wanted image deleted under a running container: a repair must deliver it again", async () => {
  const id = (await docker(`image inspect --format '{{.Id}}' ${tags.api}`)).stdout.trim();
  await docker(`rmi -f ${tags.api}`);
  const [status] = await askHosts([wanted()], deployerKey.privateKey);
  expect(status.apps.find((a) => a.app === "api")?.imageMissing).toBe(true);
  await docker(`tag ${id} ${tags.api}`);
  expect(await drift()).toEqual([]);
});

test("an unreachable host: one line, at once", async () => {
  const started = Date.now();
  const ghost = desiredHost({ name: "ghost", address: "fd5e:0:0:fe::1", hostKey: host.hostKey }, []);
  const [status] = await askHosts([ghost], deployerKey.privateKey);
  expect(status.error).toMatch(
    /^hcloud-deploy: status on ghost: unreachable at \[fd5e:0:0:fe::1\]: ssh: connect to host/,
  );
  outcome(
    "unreachable host (status)",
    `failed after ${((Date.now() - started) / 1000).toFixed(1)} s: ${status.error}`,
  );
});

test("a host presenting another key: status and logs stop with one line naming both fingerprints", async () => {
  const pinned = generateEd25519KeyPair("expected").publicKey;
  const line =
    `host key mismatch at [${host.address}]: expected ${parsePublicKey(pinned).fingerprint}, presented ` +
    `${parsePublicKey(host.hostKey).fingerprint} (a replaced server, or someone in between); nothing was sent`;
  const started = Date.now();
  const [status] = await askHosts([{ ...wanted(), hostKey: pinned }], deployerKey.privateKey);
  expect(status.error).toBe(`hcloud-deploy: status on ft-drift: ${line}`);
  const target = { address: host.address, port: 22, user: "root", hostKey: pinned };
  const logs = await callHost(
    overSsh(target, "ft-drift", "web", logsScript({ app: "web", hostName: "ft-drift" })),
    deployerKey.privateKey,
  ).done;
  expect([logs.code, logs.stdout, logs.failure]).toEqual([1, "", `hcloud-deploy: web on ft-drift: ${line}`]);
  outcome(
    "re-keyed host (status, logs)",
    `both failed after ${((Date.now() - started) / 1000).toFixed(1)} s in one line`,
  );
});

test("logs: the app's own lines over the pinned key; an app the host lacks fails in one line", async () => {
  await httpGet(host.address, 8080, "/index.html");
  const target = { address: host.address, port: 22, user: "root", hostKey: host.hostKey };
  const lines: string[] = [];
  const logs = callHost(
    overSsh(target, "ft-drift", "web", logsScript({ app: "web", hostName: "ft-drift", tail: 5 })),
    deployerKey.privateKey,
    (stream, line) => lines.push(`${stream} ${line}`),
  );
  expect((await logs.done).code).toBe(0);
  // busybox httpd -v logs each request on stderr, with docker's timestamp in front; the client is the
  // host proxy, on the apps' network.
  expect(lines.at(-1)).toMatch(/^stderr \d{4}-\d\d-\d\dT[\d:.]+Z \[[\d:a-f.]+\]:\d+: response:200$/);
  const none = await callHost(
    overSsh(target, "ft-drift", "worker", logsScript({ app: "worker", hostName: "ft-drift" })),
    deployerKey.privateKey,
  ).done;
  expect([none.code, none.failure]).toEqual([
    1,
    "hcloud-deploy: worker on ft-drift: no container of this app on the host",
  ]);
});
