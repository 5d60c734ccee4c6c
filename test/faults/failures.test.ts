// Failures on the service and proxy path end with one line `hcloud-deploy: <app> on <host>: <cause>`:
// a host presenting another key, an unreachable host, a full disk. Nothing was printed as done before
// them. Needs root and setup-machine.sh.
import { generateEd25519KeyPair, parsePublicKey } from "../../components/sshKeys";
import { stopAllSimHosts } from "../../local/simhost";
import { rollout, serviceSpec, setUpProxy } from "../integration/serving";
import { startTestHost, TestHost } from "../integration/support";

const REF = `registry.hcd.test:5000/example-org/web@sha256:${"a".repeat(64)}`;
let host: TestHost;

beforeAll(async () => {
  host = await startTestHost("it-fail", "fd5e:0:0:f8::1", []);
  const setup = await setUpProxy(host);
  if (setup.code !== 0) throw new Error(setup.stderr);
}, 300_000);

afterAll(async () => {
  await stopAllSimHosts();
}, 120_000);

test("a host presenting another key: one line with both fingerprints, nothing sent", async () => {
  const pinned = generateEd25519KeyPair("expected").publicKey;
  const impostor = { ...host, target: { ...host.target, hostKey: pinned } };
  for (const result of [await rollout(impostor, serviceSpec(host, "web", REF)), await setUpProxy(impostor)]) {
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(
      new RegExp(
        `^hcloud-deploy: (web|proxy) on it-fail: host key mismatch at \\[${host.address}\\]: expected ` +
          `${parsePublicKey(pinned).fingerprint.replace(/[+/]/g, "\\$&")}, presented ` +
          `${parsePublicKey(host.hostKey).fingerprint.replace(/[+/]/g, "\\$&")} .*; nothing was sent\\n$`,
      ),
    );
  }
});

test("an unreachable host: one line", async () => {
  // Inside fd5e::/16, which the harness routes nowhere: the dial fails at once, locally.
  const gone = { ...host, target: { ...host.target, address: "fd5e:0:0:fe::1" } };
  const result = await rollout(gone, serviceSpec(host, "web", REF));
  expect(result.code).toBe(1);
  expect(result.stdout).toBe("");
  expect(result.stderr).toMatch(/^hcloud-deploy: web on it-fail: unreachable at \[fd5e:0:0:fe::1\]: .+\n$/);
});

test("a full disk: one line saying so, and nothing was started", async () => {
  // The env files' directory on a tmpfs of one page, filled up.
  const full = await host.sim.exec(
    "mkdir -p /etc/hcloud-deploy/web && mount -t tmpfs -o size=4k tmpfs /etc/hcloud-deploy/web && " +
      "head -c 8192 /dev/zero >/etc/hcloud-deploy/web/fill 2>/dev/null; true",
  );
  expect(full.code).toBe(0);
  try {
    const result = await rollout(host, serviceSpec(host, "web", REF), "GREETING=hello\n");
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      "hcloud-deploy: web on it-fail: cannot write the env file: disk full (cat: write error: No space left on device)\n",
    );
    expect((await host.sim.exec("docker ps -aq")).stdout).toBe("");
  } finally {
    await host.sim.exec("umount /etc/hcloud-deploy/web");
  }
});
