// Secrets scan on a simulated host and this deployer: a tarball delivery, a service with a secret in
// its env file, status and logs. While they run, every process's argv is sampled; afterwards host files,
// the deployer's temp files and everything the commands printed are searched. The secret may live only
// in its 0600 env file and in the container's own config; the deployer's private key nowhere.
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { logsScript } from "../../components/shell/logs";
import { hostTagOf } from "../../components/shell/prelude";
import { overSsh } from "../../components/shell/report";
import { tarballDeliveryScript } from "../../components/shell/tarball";
import { DockerEngine, HARNESS_STATE_ROOT, startDockerEngine } from "../../local/dockerd";
import { run } from "../../local/exec";
import { buildHttpImage } from "../../local/images";
import { stopAllSimHosts } from "../../local/simhost";
import { callHost } from "../../ops/hostCall";
import { formatStatus } from "../../ops/status";
import { askHosts } from "../../ops/statusCommand";
import { rollout, setUpProxy } from "../integration/serving";
import { deployerKey, runOnDeployer, runOnHost, startTestHost, TestHost } from "../integration/support";
import { desiredHost, outcome, sampleArgv, serviceSpec } from "./support";

const SECRET = `faults-secret-${Date.now().toString(36)}-value`;
// A line from the middle of the private key: distinctive, and never on a line of its own elsewhere.
const KEY_LINE = deployerKey.privateKey.split("\n")[2];
let host: TestHost;
let deployer: DockerEngine;
let printed = "";
let argv = "";

function deployerWorkDirs(): string[] {
  return readdirSync(tmpdir()).filter((f) => f.startsWith("hcloud-deploy."));
}

beforeAll(async () => {
  host = await startTestHost("ft-secret", "fd5e:0:0:f8::1", []);
  const proxy = await setUpProxy(host);
  expect([proxy.code, proxy.stderr]).toEqual([0, ""]);
  deployer = await startDockerEngine({ name: "ft-secret" });
  const image = await buildHttpImage(deployer, { tag: "faults/web:v1", version: "web v1" });
  // The host tag comes from a digest reference; the deployer saves the image by its ID.
  const tag = hostTagOf("web", `registry.test/faults/web@${image.id}`);
  const sampler = sampleArgv();
  try {
    const delivery = tarballDeliveryScript({
      app: "web",
      hostTag: tag,
      imageRef: image.id,
      hosts: [{ hostName: "ft-secret", target: host.target }],
      registry: { server: "registry.test", username: "faults" },
    });
    const delivered = await runOnDeployer(deployer, delivery, `${deployerKey.privateKey}\n`);
    expect(delivered.code).toBe(0);
    const served = await rollout(host, serviceSpec(host, "web", tag, 8080), `TOKEN=${SECRET}\n`);
    expect([served.code, served.stderr]).toEqual([0, ""]);
    const wanted = desiredHost({ ...host, name: "ft-secret" }, [{ app: "web", tag, hostPort: 8080 }]);
    const status = formatStatus("faults", await askHosts([wanted], deployerKey.privateKey));
    const logs = await callHost(
      overSsh(host.target, "ft-secret", "web", logsScript({ app: "web", hostName: "ft-secret" })),
      deployerKey.privateKey,
      (_stream, line) => (printed += `${line}\n`),
    ).done;
    printed += [delivered.stdout, delivered.stderr, served.stdout, status, logs.stdout].join("\n");
  } finally {
    argv = await sampler.stop();
  }
}, 300_000);

afterAll(async () => {
  await stopAllSimHosts();
  await deployer?.stop();
}, 60_000);

test("no secret and no private key in any process's argv, sampled throughout", () => {
  expect(argv.split("\n").length).toBeGreaterThan(100);
  expect(argv).not.toContain(SECRET);
  expect(argv).not.toContain(KEY_LINE);
});

test("nothing the delivery, service, status or logs printed holds them", () => {
  expect(printed).toContain("hcloud-deploy: web on ft-secret:");
  expect(printed).not.toContain(SECRET);
  expect(printed).not.toContain(KEY_LINE);
});

test("on the host, the secret is only in its 0600 env file and the container's own config", async () => {
  // The host's state outside its namespaces: Docker's data, dockerd's and sshd's logs, boot files.
  const hostState = path.join(HARNESS_STATE_ROOT, "hosts", "ft-secret");
  const grep = `grep -rlsF -e ${JSON.stringify(SECRET)} -e ${JSON.stringify(KEY_LINE)}`;
  const inHost = (await runOnHost(host, `${grep} /etc /var/tmp /tmp /run /root || true`)).stdout;
  const inData = (await run("grep", ["-rlsF", "-e", SECRET, "-e", KEY_LINE, hostState], { check: false }))
    .stdout;
  const id = (await runOnHost(host, "docker inspect --format '{{.Id}}' web")).stdout.trim();
  const found = [
    ...inHost.split("\n"),
    ...inData.split("\n").map((f) => f && `<host-state>/${path.relative(hostState, f)}`),
  ]
    .filter(Boolean)
    .sort();
  // The container's own config, as Docker, containerd and the runtime each keep it; the env file shows
  // twice, as the host sees it and on the host's disk (its state directory).
  expect(found).toEqual([
    expect.stringMatching(/^\/etc\/hcloud-deploy\/web\/[0-9a-f]{12}-[0-9a-f]{12}\.env$/),
    `/run/containerd/io.containerd.runtime.v2.task/moby/${id}/config.json`,
    expect.stringMatching(/^<host-state>\/disk\/etc\/hcloud-deploy\/web\/[0-9a-f]{12}-[0-9a-f]{12}\.env$/),
    "<host-state>/disk/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db",
    `<host-state>/disk/var/lib/docker/containers/${id}/config.v2.json`,
  ]);
  expect(found[2].endsWith(found[0])).toBe(true);
  const envFile = found[0];
  expect((await runOnHost(host, `stat -c '%a %U' ${envFile}`)).stdout.trim()).toBe("600 root");
  outcome(
    "secrets scan",
    `on the host only in ${envFile} (0600) and the container's config (Docker's, containerd's, the runtime's)`,
  );
});

test("the deployer keeps no work directory (where the SSH agent lived) once the commands end", () => {
  expect(deployerWorkDirs()).toEqual([]);
});
