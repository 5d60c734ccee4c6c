// The delivery path under faults (issue 11, items 5 and 6): it fails fast with one line naming host and
// cause, and an interrupted delivery leaves nothing behind. Runs the very scripts `pulumi up` runs, on
// simulated IPv6-only hosts. Needs root and scripts/setup-machine.sh.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { hostTagOf } from "../../components/shell/prelude";
import { registryPullDeliveryScript } from "../../components/shell/registryPull";
import { generateEd25519KeyPair, parsePublicKey } from "../../components/sshKeys";
import { DockerEngine, startDockerEngine } from "../../local/dockerd";
import { childPids, delay, run, RunResult } from "../../local/exec";
import { buildHttpImage, pushImage } from "../../local/images";
import { LocalRegistry, startRegistry } from "../../local/registry";
import { hostLink, shapeLink } from "../../local/hostNetwork";
import { stopAllSimHosts } from "../../local/simhost";
import {
  bytesSentTo,
  deliverTarball,
  deployerKey,
  repoDigestOf,
  runOnDeployer,
  runOnHost,
  stagedFiles,
  startTestHost,
  tarballScript,
  TestHost,
} from "../integration/support";

let registry: LocalRegistry;
let deployer: DockerEngine;
let host: TestHost;
let small: TestHost;
let big = "";

// The receive scripts running on a host (ps and grep, so that the probe does not find itself).
const RECEIVERS = "ps -eo args | grep '^sh /run/hcloud-deploy/web' || true";
const workDirs = () => readdirSync(tmpdir()).filter((f) => f.startsWith("hcloud-deploy."));
const seconds = (since: number) => (Date.now() - since) / 1000;

/** Every line the product printed names the app and host: no script text, no raw tool output. */
function expectOnlyOwnLines(result: RunResult, host: string): void {
  for (const line of `${result.stdout}${result.stderr}`.split("\n").filter(Boolean))
    expect(line).toMatch(new RegExp(`^hcloud-deploy: web on ${host}: `));
}

const pull = (target: TestHost, ref: string) =>
  runOnDeployer(
    deployer,
    registryPullDeliveryScript({
      app: "web",
      hostName: target.sim.name,
      hostTag: hostTagOf("web", ref),
      imageRef: ref,
      registry: { server: registry.host, username: registry.user },
      target: target.target,
    }),
    `${deployerKey.privateKey}\n${registry.password}\n`,
  );

beforeAll(async () => {
  registry = await startRegistry();
  deployer = await startDockerEngine({ name: "it-faults", insecureRegistries: [registry.host] });
  [host, small] = await Promise.all([
    startTestHost("it-flt", "fd5e:0:0:f8::1", [registry.host]),
    startTestHost("it-small", "fd5e:0:0:f9::1", [registry.host], { dockerDataMiB: 40 }),
  ]);
  const image = await buildHttpImage(deployer, { tag: "it/web:big", version: "big", paddingMiB: 32 });
  big = await repoDigestOf(deployer, await pushImage(deployer, image, registry, "example-org/web", "big"));
}, 300_000);

afterAll(async () => {
  await stopAllSimHosts();
  await deployer?.stop();
  await registry?.stop();
}, 120_000);

describe("fail fast, say why in one line", () => {
  const impostor = () => ({
    ...host,
    target: { ...host.target, hostKey: generateEd25519KeyPair("impostor").publicKey },
  });
  const mismatch = (pinned: string) =>
    `hcloud-deploy: web on it-flt: host key mismatch at [${host.address}]: expected ${parsePublicKey(pinned).fingerprint}, ` +
    `presented ${parsePublicKey(host.hostKey).fingerprint} (a replaced server, or someone in between); nothing was sent\n`;

  test.each([
    ["tarball", (t: TestHost) => deliverTarball(deployer, [t], big)],
    ["registry pull", (t: TestHost) => pull(t, big)],
  ])(
    "%s: a re-keyed host fails within 10 s naming both fingerprints; nothing is sent",
    async (_name, deliver) => {
      const target = impostor();
      const before = await bytesSentTo(host);
      const started = Date.now();
      const result = await deliver(target);
      process.stderr.write(`${_name}: key mismatch failed after ${seconds(started).toFixed(1)} s\n`);
      expect(seconds(started)).toBeLessThan(10);
      expect([result.code, result.stdout, result.stderr]).toEqual([1, "", mismatch(target.target.hostKey)]);
      expect((await bytesSentTo(host)) - before).toBeLessThan(16 * 1024);
    },
  );

  test("an unreachable host fails within 10 s with one line", async () => {
    const gone = { ...host, target: { ...host.target, address: "fd5e:0:0:fe::1" } };
    const started = Date.now();
    const result = await deliverTarball(deployer, [gone], big);
    expect(seconds(started)).toBeLessThan(10);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^hcloud-deploy: web on it-flt: unreachable at \[fd5e:0:0:fe::1\]: ssh: connect to host fd5e:0:0:fe::1 port 22: [^\n]+\n$/,
    );
  });

  test("a full disk while staging: one line with the free space, nothing loaded, nothing staged", async () => {
    await host.sim.exec(
      "mkdir -p /var/tmp/hcloud-deploy && mount -t tmpfs -o size=2m tmpfs /var/tmp/hcloud-deploy",
    );
    try {
      const result = await deliverTarball(deployer, [host], big);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^hcloud-deploy: web on it-flt: disk full on the host while staging the image \(\d+ MiB free in \/var\/tmp\/hcloud-deploy\); nothing was loaded\n$/,
      );
      // Progress lines only: nothing claims the image got there.
      expect(result.stdout).not.toContain("loaded");
      expectOnlyOwnLines(result, "it-flt");
      expect(await stagedFiles(host)).toBe("");
    } finally {
      await host.sim.exec("umount /var/tmp/hcloud-deploy");
    }
  });

  test("a full disk while loading: one line with the free space; the image is not there", async () => {
    const result = await deliverTarball(deployer, [small], big);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^hcloud-deploy: web on it-small: disk full on the host while loading the image \(\d+ MiB free in \S+\); the image was not loaded\n$/,
    );
    expectOnlyOwnLines(result, "it-small");
    expect(
      (await runOnHost(small, `docker image inspect ${hostTagOf("web", big)} >/dev/null 2>&1 || echo absent`))
        .stdout,
    ).toBe("absent\n");
    expect(await stagedFiles(small)).toBe("");
  });

  test("a full disk while pulling from the registry: one line", async () => {
    const result = await pull(small, big);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^hcloud-deploy: web on it-small: disk full on the host while pulling the image \(\d+ MiB free in \S+\); the image was not pulled\n$/,
    );
    expectOnlyOwnLines(result, "it-small");
  });
});

describe("an interrupted delivery leaves nothing behind", () => {
  const link = () => hostLink(host.sim.name);
  beforeAll(async () => {
    // Slow enough that every interruption lands mid-stream.
    await shapeLink(link(), "8mbit");
  });
  afterAll(async () => {
    await shapeLink(link(), null);
  });

  /**
   * Starts the delivery in the foreground of a parent that only waits, as the command provider runs it
   * (a background job of a shell would start with SIGINT ignored).
   */
  async function startDelivery() {
    const parent = spawn("bash", ["-c", 'bash -c "$SCRIPT" hcloud-deploy; exec sleep 600'], {
      env: { ...process.env, DOCKER_HOST: deployer.dockerHost, SCRIPT: tarballScript([host], big) },
      stdio: ["pipe", "ignore", "ignore"],
    });
    parent.stdin.end(`${deployerKey.privateKey}\n`);
    let children: number[] = [];
    for (let i = 0; i < 50 && children.length === 0; i++) {
      await delay(100);
      children = await childPids(parent.pid as number);
    }
    return { parent, pid: children[0] };
  }

  async function streaming(): Promise<boolean> {
    return (
      (await runOnHost(host, "ls /var/tmp/hcloud-deploy/web.*.zst 2>/dev/null | wc -l")).stdout.trim() === "1"
    );
  }

  test.each(["SIGINT", "SIGTERM", "SIGHUP", "SIGKILL of its parent", "SIGKILL"])(
    "%s: the pipeline stops, no key on disk, the next delivery clears the host",
    async (signal) => {
      const before = workDirs();
      const { parent, pid } = await startDelivery();
      try {
        for (let i = 0; i < 100 && !(await streaming()); i++) await delay(200);
        expect(await streaming()).toBe(true);
        const keyFiles = await run("bash", [
          "-c",
          `grep -rls 'PRIVATE KEY' "$0"/hcloud-deploy.* || true`,
          tmpdir(),
        ]);
        expect(keyFiles.stdout).toBe("");

        const stopped = Date.now();
        if (signal === "SIGKILL of its parent") parent.kill("SIGKILL");
        else process.kill(pid, signal as NodeJS.Signals);
        let left = "";
        for (let i = 0; i < 50; i++) {
          left = (await run("pgrep", ["-g", String(pid)], { check: false })).stdout.trim();
          if (left === "" && workDirs().length === before.length) break;
          await delay(200);
        }
        process.stderr.write(
          `${signal}: the delivery's processes were gone ${seconds(stopped).toFixed(1)} s later\n`,
        );
        expect([left, workDirs()]).toEqual(["", before]);
        // The host's side of the stream ends with the connection.
        for (let i = 0; i < 25 && (await runOnHost(host, RECEIVERS)).stdout; i++) await delay(200);
        expect((await runOnHost(host, RECEIVERS)).stdout).toBe("");

        // A trapped signal (the watchdog sends one when the parent dies) cleans the host at once; a
        // SIGKILL of the script leaves its stream, seconds old, which the next delivery removes.
        const abandoned = await stagedFiles(host);
        // (its control files on tmpfs, its stream on disk)
        if (signal === "SIGKILL") expect(abandoned).toMatch(/^web\.([0-9a-f]{12})\nweb\.\1\.zst$/);
        else expect(abandoned).toBe("");
        // Unshaped for the next delivery; tc fails here if the shaping was not in place all along.
        await run("tc", ["qdisc", "del", "dev", link(), "root"]);
        try {
          const next = await deliverTarball(deployer, [host], big);
          expect([next.code, next.stderr]).toEqual([0, ""]);
        } finally {
          await shapeLink(link(), "8mbit");
        }
        expect(await stagedFiles(host)).toBe("");
        await runOnHost(host, `docker rmi ${hostTagOf("web", big)} > /dev/null`);
      } finally {
        // Whatever the outcome, nothing of this test keeps running.
        parent.kill("SIGKILL");
        try {
          process.kill(-pid, "SIGKILL");
        } catch {
          // the group is gone, as it should be
        }
      }
    },
    180_000,
  );
});
