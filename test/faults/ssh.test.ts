// The deployer's SSH prelude on a real sshd: fail fast with one line, keep the key off the disk, and
// leave nothing running when the process that started it dies. Needs root and scripts/setup-machine.sh.
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { FAIL_FUNCTION, sayFunction, shQuote } from "../../components/shell/prelude";
import { deployerSsh } from "../../components/shell/ssh";
import { generateEd25519KeyPair, parsePublicKey } from "../../components/sshKeys";
import { delay, run } from "../../local/exec";
import { stopAllSimHosts } from "../../local/simhost";
import { deployerKey, startTestHost, TestHost } from "../integration/support";

let host: TestHost;

function script(hostKey: string, address: string, body: string): string {
  const target = { address, port: 22, user: "root", hostKey };
  return [
    "set -euo pipefail",
    sayFunction(shQuote("web"), shQuote("it-ssh")),
    FAIL_FUNCTION,
    deployerSsh(target),
    body,
  ].join("\n");
}

function deployerWorkDirs(): string[] {
  return readdirSync(tmpdir()).filter((f) => f.startsWith("hcloud-deploy."));
}

beforeAll(async () => {
  host = await startTestHost("it-ssh", "fd5e:0:0:f5::1", []);
}, 120_000);

afterAll(async () => {
  await stopAllSimHosts();
}, 60_000);

test("the pinned key gets in; the key never lands in a file; nothing is left behind", async () => {
  const before = deployerWorkDirs();
  const body = `check_host
remote hostname
grep -rl "PRIVATE KEY" "$work" 2>/dev/null || echo "no key file"`;
  const result = await run("bash", ["-c", script(host.hostKey, host.address, body)], {
    input: deployerKey.privateKey,
    check: false,
  });
  expect([result.code, result.stdout, result.stderr]).toEqual([0, "it-ssh\nno key file\n", ""]);
  expect(deployerWorkDirs()).toEqual(before);
});

test("a host presenting another key fails with one line naming both fingerprints", async () => {
  const pinned = generateEd25519KeyPair("expected").publicKey;
  const started = Date.now();
  const result = await run("bash", ["-c", script(pinned, host.address, "check_host\necho SENT")], {
    input: deployerKey.privateKey,
    check: false,
  });
  const seconds = (Date.now() - started) / 1000;
  process.stderr.write(`ssh: key mismatch failed after ${seconds.toFixed(1)} s\n`);
  expect(result.code).toBe(1);
  expect(result.stdout).toBe("");
  expect(result.stderr).toBe(
    `hcloud-deploy: web on it-ssh: host key mismatch at [${host.address}]: expected ` +
      `${parsePublicKey(pinned).fingerprint}, presented ${parsePublicKey(host.hostKey).fingerprint} ` +
      "(a replaced server, or someone in between); nothing was sent\n",
  );
});

test("a host that is not there fails with one line", async () => {
  // Inside fd5e::/16, which the harness routes nowhere: the dial fails at once, locally.
  const result = await run("bash", ["-c", script(host.hostKey, "fd5e:0:0:fe::1", "check_host")], {
    input: deployerKey.privateKey,
    check: false,
  });
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(
    /^hcloud-deploy: web on it-ssh: unreachable at \[fd5e:0:0:fe::1\]: ssh: connect to host fd5e:0:0:fe::1 port 22: .+\n$/,
  );
});

test("when its parent is SIGKILLed, the script stops its stream, agent and work dir", async () => {
  const before = deployerWorkDirs();
  const body = `check_host
echo "$work" > ${shQuote(path.join(tmpdir(), "it-ssh-work"))}
yes | remote 'cat > /dev/null'`;
  // A parent that only waits, as the command provider does.
  const parent = spawn("bash", ["-c", 'bash -c "$SCRIPT" hcloud-deploy; sleep 600'], {
    env: { ...process.env, SCRIPT: script(host.hostKey, host.address, body) },
    stdio: ["pipe", "ignore", "ignore"],
  });
  parent.stdin.end(deployerKey.privateKey);
  let streaming = "";
  for (let i = 0; i < 100 && streaming === ""; i++) {
    await delay(100);
    streaming = (await host.sim.exec("pgrep -x cat || true")).stdout.trim();
  }
  expect(streaming).not.toBe("");
  parent.kill("SIGKILL");
  let leftovers = "";
  for (let i = 0; i < 50; i++) {
    await delay(200);
    const agents = (await run("pgrep", ["-f", "ssh-agent -s -a /tmp/hcloud-deploy."], { check: false }))
      .stdout;
    const remote = (await host.sim.exec("pgrep -x cat || true")).stdout.trim();
    leftovers = `${agents.trim()}|${remote}|${deployerWorkDirs()
      .filter((d) => !before.includes(d))
      .join(",")}`;
    if (leftovers === "||") break;
  }
  expect(leftovers).toBe("||");
  expect(existsSync(path.join(tmpdir(), "it-ssh-work"))).toBe(true);
});
