// A resolver in the root namespace for tests: Debian's dnsmasq answering AAAA records for test names on
// its own address in the harness's service prefix (fd5e:ffff::/32), and nothing else (no upstream, so
// no query ever leaves the machine). Simulated hosts take its address as their resolver.
import { Resolver } from "node:dns/promises";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Daemon, once, readTail, run, startDaemon, waitUntil } from "../../local/exec";
import { acquireHarnessNetwork, releaseHarnessNetwork } from "../../local/hostNetwork";

export interface TestResolver {
  readonly address: string;
  stop(): Promise<void>;
}

const ADDRESS = "fd5e:ffff::53";

/** Starts dnsmasq with `records` (name → IPv6 address) on ADDRESS, port 53. */
export async function startResolver(records: Record<string, string>): Promise<TestResolver> {
  await acquireHarnessNetwork();
  const dir = await mkdtemp(path.join(tmpdir(), "hcd-resolver-"));
  let daemon: Daemon | undefined;
  const stop = once(async () => {
    await daemon?.stop();
    await run("ip", ["-6", "addr", "del", `${ADDRESS}/128`, "dev", "lo"], { check: false });
    await rm(dir, { recursive: true, force: true });
    await releaseHarnessNetwork();
  });
  try {
    await run("ip", ["-6", "addr", "replace", `${ADDRESS}/128`, "dev", "lo", "nodad"]);
    daemon = startDaemon(
      [
        "dnsmasq",
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--bind-interfaces",
        `--listen-address=${ADDRESS}`,
        `--pid-file=${path.join(dir, "dnsmasq.pid")}`,
        "--log-queries",
        "--log-facility=-",
        ...Object.entries(records).map(([name, address]) => `--host-record=${name},${address}`),
        // Answered here and nowhere else: an A query gets "no such record", not REFUSED.
        ...Object.keys(records).map((name) => `--local=/${name}/`),
      ],
      path.join(dir, "dnsmasq.log"),
    );
    const [name, expected] = Object.entries(records)[0];
    const client = new Resolver({ timeout: 500, tries: 1 });
    client.setServers([ADDRESS]);
    await waitUntil(
      async () => {
        if (daemon?.exitReason() !== undefined) throw new Error(`dnsmasq ${daemon.exitReason()}`);
        return (await client.resolve6(name).catch((): string[] => [])).includes(expected);
      },
      10_000,
      async () =>
        `dnsmasq did not answer for ${name} on ${ADDRESS}:\n${await readTail(path.join(dir, "dnsmasq.log"))}`,
    );
    return { address: ADDRESS, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
