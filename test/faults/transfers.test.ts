// Faults in the middle of a deploy: the SSH connection cut while the image streams, a corrupted or
// truncated stream, the host rebooted while a delivery runs. Each must fail in one line, load nothing,
// leave the running version serving, and leave nothing in the way of the next delivery. Runs the very
// scripts `pulumi up` runs on a simulated host with a real sshd, dockerd and proxy.
import { hostTagOf, shQuote } from "../../components/shell/prelude";
import { armScript, loadScript, receiveScript } from "../../components/shell/stages";
import { tarballDeliveryScript } from "../../components/shell/tarball";
import { DockerEngine, startDockerEngine } from "../../local/dockerd";
import { delay, run, RunResult } from "../../local/exec";
import { buildHttpImage } from "../../local/images";
import { hostLink, shapeLink } from "../../local/hostNetwork";
import { stopAllSimHosts } from "../../local/simhost";
import { rollout, setUpProxy, viaProxy } from "../integration/serving";
import {
  deployerKey,
  runOnDeployer,
  runOnHost,
  stagedFiles,
  startTestHost,
  TestHost,
} from "../integration/support";
import { outcome, refOf, serviceSpec } from "./support";

let host: TestHost;
let deployer: DockerEngine;
/** Image ID and host tag of each test image. */
const images: Record<"v1" | "big" | "big2", { id: string; tag: string }> = {
  v1: { id: "", tag: "" },
  big: { id: "", tag: "" },
  big2: { id: "", tag: "" },
};

/** The deployer's side of a tarball delivery of `image`, saved by its ID as if pulled by digest. */
function deliver(image: { id: string; tag: string }): Promise<RunResult> {
  const script = tarballDeliveryScript({
    app: "web",
    hostTag: image.tag,
    imageRef: image.id,
    hosts: [{ hostName: host.sim.name, target: host.target }],
    registry: { server: "registry.test", username: "faults" },
  });
  return runOnDeployer(deployer, script, `${deployerKey.privateKey}\n`);
}

const hasImage = async (image: { id: string }) =>
  (await runOnHost(host, `docker image inspect ${image.id} >/dev/null 2>&1 && echo yes`)).stdout.trim() ===
  "yes";

/** Slows what reaches the host, so a stream is still running when the fault strikes. */
async function shaped<T>(work: () => Promise<T>): Promise<T> {
  const link = hostLink(host.sim.name);
  await shapeLink(link, "16mbit");
  try {
    return await work();
  } finally {
    // A reboot makes the link anew, without the shaping.
    await shapeLink(link, null);
  }
}

beforeAll(async () => {
  host = await startTestHost("ft-xfer", "fd5e:0:0:fa::1", []);
  const proxy = await setUpProxy(host);
  expect([proxy.code, proxy.stderr]).toEqual([0, ""]);
  deployer = await startDockerEngine({ name: "ft-xfer" });
  const built = {
    v1: await buildHttpImage(deployer, { tag: "faults/web:v1", version: "web v1" }),
    big: await buildHttpImage(deployer, { tag: "faults/web:big", version: "big", paddingMiB: 24 }),
    big2: await buildHttpImage(deployer, { tag: "faults/web:big2", version: "big2", paddingMiB: 24 }),
  };
  for (const [name, image] of Object.entries(built)) {
    images[name as keyof typeof images] = { id: image.id, tag: hostTagOf("web", refOf("web", image.id)) };
  }
  const delivered = await deliver(images.v1);
  expect([delivered.code, delivered.stderr]).toEqual([0, ""]);
  const served = await rollout(host, serviceSpec(host, "web", images.v1.tag, 8080), "");
  expect([served.code, served.stderr]).toEqual([0, ""]);
}, 300_000);

afterAll(async () => {
  await stopAllSimHosts();
  await deployer?.stop();
}, 60_000);

test("SSH cut mid-transfer: one line, nothing loaded or staged, the app keeps serving, the next delivery works", async () => {
  const result = await shaped(async () => {
    const delivery = deliver(images.big);
    await delay(2500);
    // The ssh process carrying the stream is the one running the receive script.
    const killed = await run("pkill", ["-f", "^ssh .* sh /run/hcloud-deploy/web\\.[0-9a-f]+/recv$"], {
      check: false,
    });
    expect(killed.code).toBe(0);
    const cut = Date.now();
    const ended = await delivery;
    return { ...ended, afterCut: (Date.now() - cut) / 1000 };
  });
  expect(result.code).toBe(1);
  expect(result.stdout).not.toContain("loaded sha256");
  expect(result.stderr).toMatch(
    /^hcloud-deploy: web on ft-xfer: (nothing arrived|checksum mismatch)[^\n]*\n$/,
  );
  expect(await hasImage(images.big)).toBe(false);
  expect(await stagedFiles(host)).toBe("");
  expect(await viaProxy(host)).toBe("web v1");
  const again = await deliver(images.big);
  expect([again.code, again.stderr]).toEqual([0, ""]);
  outcome(
    "SSH cut mid-transfer",
    `failed ${result.afterCut.toFixed(1)} s after the cut with "${result.stderr.trim()}"; nothing loaded, ` +
      "nothing staged, the app kept serving, the next delivery loaded the image",
  );
}, 180_000);

test("a corrupted or truncated stream fails its checksum: one line, nothing loaded, nothing staged", async () => {
  const stage = (script: string, ...args: string[]) => `sh -c ${shQuote(script)} sh ${args.join(" ")}`;
  const image = { app: "web", hostTag: images.big2.tag };
  const saved = await run(
    "bash",
    ["-c", `docker save "$0" | zstd -T0 -3 -q -c | base64 -w0`, images.big2.id],
    {
      env: { ...process.env, DOCKER_HOST: deployer.dockerHost },
    },
  );
  const data = Buffer.from(saved.stdout, "base64");
  const sum = (await run("sha256sum", [], { input: data })).stdout.split(" ")[0];
  const corrupted = Buffer.from(data);
  corrupted[Math.floor(corrupted.length / 2)] ^= 0xff;
  for (const [kind, broken] of [
    ["corrupted", corrupted],
    ["truncated", data.subarray(0, Math.floor(data.length / 3))],
  ] as const) {
    const token = `ft${Date.now()}`;
    const armed = await runOnHost(
      host,
      stage(armScript(image), token, "-", "-", "22"),
      `\n\n${receiveScript("web")}`,
    );
    expect(armed.code).toBe(0);
    expect((await runOnHost(host, `sh /run/hcloud-deploy/web.${token}/recv`, broken)).code).toBe(0);
    const loaded = await runOnHost(host, stage(loadScript(image), token, sum, images.big2.id, "full"));
    expect(loaded.code).toBe(4);
    expect(loaded.stderr).toMatch(
      new RegExp(
        `^hcloud-deploy: web on ft-xfer: checksum mismatch \\(expected ${sum}, got [0-9a-f]{64}\\): the transfer was cut off or corrupted; nothing was loaded\\n$`,
      ),
    );
    expect(await hasImage(images.big2)).toBe(false);
    expect(await stagedFiles(host)).toBe("");
    outcome(`${kind} stream`, `refused before loading with "${loaded.stderr.trim()}"; nothing staged`);
  }
  expect(await viaProxy(host)).toBe("web v1");
}, 120_000);

test("the host rebooted during a delivery: one line, the app serves again after the boot, the next delivery works", async () => {
  const result = await shaped(async () => {
    const started = Date.now();
    const delivery = deliver(images.big2);
    await delay(2500);
    await host.sim.reboot();
    const booted = (Date.now() - started) / 1000;
    const ended = await delivery;
    return { ...ended, booted, total: (Date.now() - started) / 1000 };
  });
  expect(result.code).not.toBe(0);
  expect(result.stdout).not.toContain("loaded sha256");
  expect(result.stderr).toMatch(/^hcloud-deploy: web on ft-xfer: [^\n]+\n$/);
  expect(await hasImage(images.big2)).toBe(false);
  // The app is back without a deploy (restart policy and the proxy's saved config).
  let answer = "";
  for (let i = 0; i < 30 && answer !== "web v1"; i++) {
    answer = await viaProxy(host);
    if (answer !== "web v1") await delay(500);
  }
  expect(answer).toBe("web v1");
  // The stream on the host's disk outlived the boot; the next delivery clears it and loads the image.
  const leftBehind = await stagedFiles(host);
  const again = await deliver(images.big2);
  expect([again.code, again.stderr]).toEqual([0, ""]);
  expect(await hasImage(images.big2)).toBe(true);
  expect(await stagedFiles(host)).toBe("");
  outcome(
    "host rebooted during a delivery",
    `the delivery failed ${result.total.toFixed(1)} s after it started (host back after ${result.booted.toFixed(1)} s) ` +
      `with "${result.stderr.trim()}"; nothing loaded; left on the host: ${leftBehind || "nothing"}; ` +
      "the app served again without a deploy; the next delivery cleared the host and loaded the image",
  );
}, 180_000);
