import { execFileSync } from "child_process";
import { hostTagOf, shQuote } from "../../../components/shell/prelude";
import { readinessScript } from "../../../components/shell/readiness";
import { registryPullDeliveryScript, registryPullScript } from "../../../components/shell/registryPull";
import { overSshScript } from "../../../components/shell/deployerCommand";
import { hostSetupScript } from "../../../components/shell/proxy";
import { rolloutRemoveScript, rolloutScript } from "../../../components/shell/rollout";
import { envFileContent, settingsHash } from "../../../components/shell/service";
import { deployerSsh, knownHostsLine, onHost } from "../../../components/shell/ssh";
import { generateEd25519KeyPair, parsePublicKey } from "../../../components/sshKeys";
import { packFunction } from "../../../components/shell/pack";
import {
  armScript,
  cleanupScript,
  linkScript,
  loadScript,
  probeScript,
  receiveScript,
  tagScript,
} from "../../../components/shell/stages";
import { tarballDeliveryScript } from "../../../components/shell/tarball";
import { hostTag, image, ref, spec } from "../support/shellFixtures";

const hostKey = generateEd25519KeyPair("web-1-dev").publicKey;
const target = { address: "2001:db8::1", port: 22, user: "root", hostKey };
const registry = { server: "ghcr.io", username: "bot" };
const otherKey = generateEd25519KeyPair("web-2-dev").publicKey;
const twoHosts = [
  { hostName: "web-1", target },
  { hostName: "web-2", target: { ...target, address: "2001:db8::2", hostKey: otherKey } },
];
const tarball = (hosts = twoHosts.slice(0, 1)) =>
  tarballDeliveryScript({ app: "web", hostTag, imageRef: ref, hosts, registry });

function syntaxError(shell: "sh" | "bash", script: string): string {
  try {
    execFileSync(shell, ["-n"], { input: script, stdio: ["pipe", "pipe", "pipe"] });
    return "";
  } catch (err) {
    return String((err as { stderr: Buffer }).stderr);
  }
}

describe("every builder produces a script its shell parses", () => {
  test.each<[string, "sh" | "bash", string]>([
    ["readiness", "sh", readinessScript({ hostName: "web-1", timeoutSeconds: 600 })],
    ["probe", "sh", probeScript(image)],
    ["arm", "sh", armScript(image)],
    ["link", "sh", linkScript(image)],
    ["receive", "sh", receiveScript("web")],
    ["load", "sh", loadScript(image)],
    ["tag", "sh", tagScript(image)],
    ["clean-up", "sh", cleanupScript(image)],
    ["tarball delivery to one host (deployer)", "bash", tarball()],
    ["tarball delivery to two hosts (deployer)", "bash", tarball(twoHosts)],
    ["pack", "bash", packFunction()],
    ["registry pull (host)", "sh", registryPullScript({ ...image, imageRef: ref, registry })],
    [
      "registry pull (deployer)",
      "bash",
      registryPullDeliveryScript({ ...image, imageRef: ref, registry, target }),
    ],
    ["rollout", "sh", rolloutScript(spec)],
    ["rollout with domains", "sh", rolloutScript({ ...spec, domains: ["shop.example.com"] })],
    ["rollout update", "sh", rolloutScript(spec, "update")],
    ["rollout removal", "sh", rolloutRemoveScript(spec)],
    ["host setup (acme)", "sh", hostSetupScript("web-1", { issuer: "acme", email: "ops@example.com" })],
    ["host setup (internal CA)", "sh", hostSetupScript("web-1", { issuer: "internal" })],
    [
      "a host script over SSH (deployer)",
      "bash",
      overSshScript({
        subject: "web",
        hostName: "web-1",
        target,
        create: rolloutScript(spec),
        delete: "true",
      }),
    ],
  ])("%s", (_name, shell, script) => {
    expect(syntaxError(shell, script)).toBe("");
  });
});

describe("quoting", () => {
  test.each(["plain", "it's", 'say "hi"', "$(touch /tmp/pwned)", "`id`", "a\\b", "new\nline", ""])(
    "shQuote keeps %j literal",
    (value) => {
      expect(execFileSync("sh", ["-c", `printf %s ${shQuote(value)}`]).toString()).toBe(value);
    },
  );

  test("onHost wraps a script so the remote login shell runs it under sh with arguments", () => {
    const command = onHost('printf "%s|%s" "$0" "$1"');
    // What ssh hands to the remote shell is the unquoted word; run it as the remote shell would.
    const remoteCommandLine = execFileSync("sh", ["-c", `printf %s ${command}`]).toString();
    expect(execFileSync("sh", ["-c", `${remoteCommandLine} arg1`]).toString()).toBe("hcloud-deploy|arg1");
  });

  test("known_hosts lines pin the key, with brackets only for non-default ports", () => {
    const line = { ...target, hostKey: "ssh-ed25519 AAAAC3Nz web-1-dev" };
    expect(knownHostsLine(line)).toBe("2001:db8::1 ssh-ed25519 AAAAC3Nz");
    expect(knownHostsLine({ ...line, port: 2222 })).toBe("[2001:db8::1]:2222 ssh-ed25519 AAAAC3Nz");
  });
});

describe("the deployer scripts keep secrets off argv and disks", () => {
  test.each([
    ["tarball", tarball()],
    ["registry pull", registryPullDeliveryScript({ ...image, imageRef: ref, registry, target })],
  ])("%s: key and token come on stdin; the key goes to a private agent, never a file", (_n, script) => {
    expect(script).toContain('printf \'%s\' "$key" | SSH_AUTH_SOCK="$work/agent.sock" ssh-add -q -');
    expect(script).not.toMatch(/"\$key" *>/);
    expect(script).toContain('while IFS= read -r token && [ -z "$token" ]; do :; done');
    expect(script).toContain("--password-stdin");
    expect(script).not.toMatch(/--password[ =]/);
  });
  test("the registry pull token reaches ssh through a FIFO, never a file", () => {
    const script = registryPullDeliveryScript({ ...image, imageRef: ref, registry, target });
    expect(script).toContain('mkfifo "$work/token"');
    expect(script).toContain('< "$work/token"');
  });
  test("ssh checks the pinned key strictly and never prompts", () => {
    const script = tarball();
    expect(script).toContain("-o StrictHostKeyChecking=yes");
    expect(script).toContain("-o BatchMode=yes");
    expect(script).toContain('-o UserKnownHostsFile="$work/known_hosts" -o GlobalKnownHostsFile=/dev/null');
    expect(script).not.toMatch(/StrictHostKeyChecking=(no|accept-new)/);
  });
  test("compresses with all cores; the host verifies the deployer's checksum before loading", () => {
    expect(tarball()).toContain("zstd -T0");
    const load = loadScript(image);
    expect(load.indexOf("sha256sum")).toBeGreaterThan(0);
    expect(load.indexOf("sha256sum")).toBeLessThan(load.indexOf("docker load"));
  });
});

describe("host-to-host relays", () => {
  test("a relay key may run only the delivery's receive script, from the upstream host, for 2 hours", () => {
    const arm = armScript(image);
    expect(arm).toContain(
      'relay_keys add "restrict,command=\\"sh $ctl/recv\\",from=\\"$2\\",expiry-time=\\"$expires\\" $upstream_key hcloud-deploy-relay:$app.$1"',
    );
    expect(arm).toContain("date -u -d '+2 hours' +%Y%m%d%H%MZ");
    expect(arm).toContain("/root/.ssh/authorized_keys2");
  });
  test("the load stage withdraws the key and closes the relay before it reads the stream", () => {
    const load = loadScript(image);
    expect(load.indexOf('relay_keys drop "$app.$1"')).toBeGreaterThan(0);
    expect(load.indexOf('relay_keys drop "$app.$1"')).toBeLessThan(load.indexOf("sha256sum"));
    expect(load.indexOf('close_relay "$ctl"')).toBeLessThan(load.indexOf("sha256sum"));
  });
  test("hosts relay with the delivery's key against the next host's pinned key, never prompting", () => {
    for (const script of [linkScript(image), receiveScript("web")]) {
      expect(script).toContain(
        'ssh -i "$ctl/key" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes',
      );
      expect(script).toContain('-o UserKnownHostsFile="$ctl/known_hosts" -o GlobalKnownHostsFile=/dev/null');
    }
  });
  test("a probe clears the app's leftovers: unlocked streams, control files, relay keys", () => {
    const probe = probeScript(image);
    expect(probe).toContain('( flock -n 9 && rm -f "$f" ) 9<"$f"');
    expect(probe).toContain('relay_keys drop "$app."');
    expect(probe).toContain("-mmin +120");
  });
});

describe("the deployer's SSH prelude", () => {
  const prelude = deployerSsh(target);
  test("fails naming both fingerprints when the host presents another key", () => {
    const fingerprint = parsePublicKey(hostKey).fingerprint;
    // The address and fingerprint come from the arrays; the integration test sees the line itself.
    expect(prelude).toContain(
      'echo "host key mismatch at $where: expected ${host_fpr[i]}, presented $presented (a replaced server, or someone in between); nothing was sent"',
    );
    expect(prelude).toContain(`host_fpr=('${fingerprint}')`);
    expect(prelude).toContain("host_addr=('2001:db8::1')");
    expect(prelude).toContain('ssh-keyscan -T 5 -t ed25519 -p "${host_port[i]}" "${host_addr[i]}"');
  });
  test("dials with a 5 s timeout and authenticates with the agent's key only", () => {
    expect(prelude).toContain("-o ConnectTimeout=5");
    expect(prelude).toContain(
      '-o IdentityAgent="$work/agent.sock" -o IdentitiesOnly=yes -o IdentityFile="$work/id.pub"',
    );
  });
  test("stops its whole process group on every exit, and when its parent dies", () => {
    expect(prelude).toContain('exec setsid bash -c "$BASH_EXECUTION_STRING"');
    expect(prelude).toContain("trap on_exit EXIT");
    expect(prelude).toMatch(/trap 'exit 130' INT\ntrap 'exit 143' TERM\ntrap 'exit 129' HUP/);
    // A host's master connection is a child of the script, never daemonised out of its group.
    expect(prelude).toContain("-o ControlMaster=yes -o ControlPersist=no");
    expect(prelude).toContain("kill -TERM -- -$$");
  });
});

describe("service settings", () => {
  test("the settings hash covers what the container runs with, not how the proxy reaches it", () => {
    for (const same of [{ hostPort: 81 }, { domains: ["a.example.com"] }, { drainSeconds: 5 }]) {
      expect([same, settingsHash({ ...spec, ...same })]).toEqual([same, settingsHash(spec)]);
    }
    for (const change of [
      { image: hostTagOf("web", `ghcr.io/x/web@sha256:${"d".repeat(64)}`) },
      { port: 8081 },
      { memory: "512m" },
      { health: { ...spec.health, path: "/" } },
      { env: { MODE: "prod" } },
    ]) {
      expect([change, settingsHash({ ...spec, ...change })]).not.toEqual([change, settingsHash(spec)]);
    }
    expect(settingsHash(spec)).toMatch(/^[0-9a-f]{12}$/);
  });

  test("env files are sorted KEY=value lines; newlines are refused", () => {
    expect(envFileContent({ B: "2", A: "x=y", EMPTY: "" })).toBe("A=x=y\nB=2\nEMPTY=\n");
    expect(() => envFileContent({ PEM: "a\nb" })).toThrow("environment variable PEM contains a newline");
  });

  test("the host tag is derived from the digest", () => {
    expect(hostTag).toBe(`hcloud-deploy/web:${"c".repeat(64)}`);
    expect(() => hostTagOf("web", "ghcr.io/x/web:latest")).toThrow("is not a digest-pinned reference");
  });
});
