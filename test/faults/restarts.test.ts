// HTTPS through the proxy's internal CA, and restart survival on a simulated host: after a dockerd crash,
// a dockerd restart, a proxy crash and restart, and a reboot, every app answers through the proxy again
// with its routes, without a deploy. Prints the time each took to serve again. Needs root and
// setup-machine.sh.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { caCertificateOf } from "../../components/shell/proxy";
import { DockerEngine, startDockerEngine } from "../../local/dockerd";
import { delay, run } from "../../local/exec";
import { LocalRegistry, startRegistry } from "../../local/registry";
import { stopAllSimHosts } from "../../local/simhost";
import { ProbeTarget, startProbe } from "../integration/probe";
import { deliver, pushVariants, rollout, serviceSpec, setUpProxy } from "../integration/serving";
import { startTestHost, TestHost } from "../integration/support";

const DOMAIN = "shop.hcd.test";
let registry: LocalRegistry;
let deployer: DockerEngine;
let host: TestHost;
let ca: string;
let caFile: string;

function targets(): ProbeTarget[] {
  return [
    { url: `http://[${host.address}]:8080/` },
    { url: `https://${DOMAIN}/`, address: host.address, ca },
  ];
}

/** GET through the proxy over HTTPS, trusting the internal CA: the body, or what went wrong. */
async function https(urlPath = "/"): Promise<string> {
  const result = await run(
    "curl",
    [
      "-sS",
      "--max-time",
      "5",
      "--cacert",
      caFile,
      "--resolve",
      `${DOMAIN}:443:[${host.address}]`,
      `https://${DOMAIN}${urlPath}`,
    ],
    { check: false },
  );
  return result.code === 0 ? result.stdout : `curl failed (${result.code}): ${result.stderr.trim()}`;
}

/**
 * Whether, within 2 minutes of `event`, dockerd answers again and both apps answer through the proxy;
 * prints how soon, and what a probe running all along saw.
 */
async function recovers(name: string, event: () => Promise<unknown>): Promise<boolean> {
  const probe = startProbe(name, targets(), { ratePerTarget: 20 });
  const started = Date.now();
  await event();
  const plain = () =>
    run("curl", ["-sfg", "--max-time", "1", `http://[${host.address}]:8080/`], { check: false });
  let serving = false;
  while (!serving && Date.now() - started < 120_000) {
    serving =
      (await host.sim.exec("docker info >/dev/null 2>&1")).code === 0 &&
      (await plain()).code === 0 &&
      (await https()) === "shop v1";
    if (!serving) await delay(100);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const counts = await probe.stop();
  process.stderr.write(
    `restart: ${name}: ${serving ? `serving again after ${seconds} s` : "NOT serving after 120 s"} ` +
      `(${counts.failed} of ${counts.sent} probe requests failed${counts.failures.length ? `: ${counts.failures[0]}` : ""})\n`,
  );
  return serving;
}

beforeAll(async () => {
  registry = await startRegistry();
  deployer = await startDockerEngine({ name: "it-restarts", insecureRegistries: [registry.host] });
  host = await startTestHost("it-rst", "fd5e:0:0:f5::1", [registry.host]);
  const web = await pushVariants(deployer, registry, "web", { v1: { version: "web v1" } });
  const shop = await pushVariants(deployer, registry, "shop", { v1: { version: "shop v1" } });
  await deliver(deployer, registry, host, "web", web.v1);
  await deliver(deployer, registry, host, "shop", shop.v1);
  const setup = await setUpProxy(host, { issuer: "internal" });
  ca = caCertificateOf(setup.stdout);
  caFile = path.join(await mkdtemp(path.join(tmpdir(), "hcd-ca-")), "root.crt");
  await writeFile(caFile, ca);
  for (const result of [
    await rollout(host, serviceSpec(host, "web", web.v1)),
    await rollout(host, serviceSpec(host, "shop", shop.v1, { domains: [DOMAIN] })),
  ]) {
    if (result.code !== 0) throw new Error(result.stderr);
  }
}, 300_000);

afterAll(async () => {
  if (caFile) await rm(path.dirname(caFile), { recursive: true, force: true });
  await stopAllSimHosts();
  await deployer?.stop();
  await registry?.stop();
}, 120_000);

describe("HTTPS through the proxy's internal CA", () => {
  test("the setup printed the CA's root certificate", () => {
    expect(ca).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/);
  });

  test("the app answers over HTTPS for its domain, with a certificate from that CA", async () => {
    expect(await https()).toBe("shop v1");
  });

  test("plain HTTP on port 80 redirects to HTTPS", async () => {
    const result = await run(
      "curl",
      [
        "-sS",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{redirect_url}",
        "-H",
        `Host: ${DOMAIN}`,
        `http://[${host.address}]/`,
      ],
      { check: false },
    );
    expect(result.stdout).toBe(`308 https://${DOMAIN}/`);
  });
});

describe("every app serves again through the proxy without a deploy", () => {
  test.each<[string, string]>([
    ["kill -9 of dockerd, then its restart", "kill -9 $(cat /run/simhost/docker/pid)"],
    ["a dockerd restart", "systemctl restart docker"],
    ["kill -9 of the proxy", "kill -9 $(cat /run/simhost/caddy/pid)"],
    ["a proxy restart", "systemctl restart caddy"],
  ])(
    "after %s",
    async (name, command) => {
      expect(await recovers(name, () => host.sim.exec(command))).toBe(true);
    },
    180_000,
  );

  test("after a host reboot (a power cut: every process dies, the disk stays)", async () => {
    expect(await recovers("a host reboot", () => host.sim.reboot())).toBe(true);
    const names = await host.sim.exec("docker ps --format '{{.Names}} {{.Status}}' | sort");
    expect(names.stdout).toMatch(/^shop Up .*\nweb Up .*\n$/);
  }, 180_000);
});
