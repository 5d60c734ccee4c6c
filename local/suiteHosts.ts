/**
 * What a test suite that starts simulated hosts does around its run (its jest globalSetup and
 * globalTeardown, test/support/): the root file systems it may boot are built first, with their progress
 * lines, so that no test's timeout pays for a build; and at the end, once, a `hosts:` line for each
 * release its hosts booted (startSimHost notes them in a file HOSTS_RECORD_ENV names).
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { ensureHostRootfs, HostRelease, HOSTS_RECORD_ENV, hostsLine, parseHostRelease } from "./hostRootfs";

type Log = (line: string) => void;
const stderr: Log = (line) => process.stderr.write(`${line}\n`);

/** Builds what `releases` need (at once) and starts recording the releases hosts boot. */
export async function prepareSuiteHosts(releases: readonly HostRelease[], log: Log = stderr): Promise<void> {
  await Promise.all([...new Set(releases)].map((release) => ensureHostRootfs(release, log)));
  const record = path.join(tmpdir(), `hcd-hosts-booted-${process.pid}`);
  await writeFile(record, "");
  process.env[HOSTS_RECORD_ENV] = record;
}

/** Prints the `hosts:` line of each release the suite's hosts booted, in the order they first booted. */
export async function finishSuiteHosts(log: Log = stderr): Promise<void> {
  const record = process.env[HOSTS_RECORD_ENV];
  if (record === undefined || record === "") return;
  delete process.env[HOSTS_RECORD_ENV];
  const booted = (await readFile(record, "utf8").catch(() => "")).split("\n").filter(Boolean);
  await rm(record, { force: true });
  for (const release of new Set(booted.map((r) => parseHostRelease(r, `a release in ${record}`)))) {
    if (release !== undefined) log(hostsLine(await ensureHostRootfs(release, log)));
  }
}
