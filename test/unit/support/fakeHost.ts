// A stand-in for the commands a host script calls (docker, curl, df), so unit tests can run the very
// scripts the builders make and check what they print and which changes they ask Docker for. Each stub
// is a small Node program answering from a JSON state and logging its argv.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface FakeContainer {
  readonly id: string;
  readonly imageId: string;
  /** What `docker inspect --format <report template>` prints for it. */
  readonly report?: Record<string, unknown>;
}

export interface FakeImage {
  readonly tag: string;
  readonly id: string;
  /** RFC 3339, as `{{json .Metadata.LastTagTime}}` prints it. */
  readonly lastTagTime: string;
}

export interface FakeHostState {
  readonly containers: readonly FakeContainer[];
  readonly images: readonly FakeImage[];
  /** URL → HTTP code curl reports; absent URLs answer 000. */
  readonly http?: Readonly<Record<string, string>>;
  /** What the proxy's admin API answers, when a socket exists. */
  readonly proxyServers?: unknown;
}

const STUB = String.raw`
const fs = require("fs");
const name = require("path").basename(process.argv[1]);
const args = process.argv.slice(2);
const state = JSON.parse(fs.readFileSync(process.env.FAKE_HOST_STATE, "utf8"));
fs.appendFileSync(process.env.FAKE_HOST_LOG, name + " " + args.join(" ") + "\n");
const out = (lines) => lines.length && process.stdout.write(lines.join("\n") + "\n");
const has = (a) => args.includes(a);
if (name === "df") {
  out(["Filesystem 1024-blocks Used Available Capacity Mounted", "/dev/vda 1000000 250000 700000 27% /"]);
} else if (name === "curl") {
  if (has("--unix-socket")) process.stdout.write(JSON.stringify(state.proxyServers ?? null));
  else process.stdout.write((state.http ?? {})[args[args.length - 1]] ?? "000");
} else if (args[0] === "ps") {
  out(state.containers.map((c) => c.id));
} else if (args[0] === "inspect") {
  const format = args[2];
  const ids = args.slice(3);
  const found = ids.map((id) => state.containers.find((c) => c.id === id));
  out(found.map((c) => (format === "{{.Image}}" ? c.imageId : JSON.stringify(c.report))));
} else if (args[0] === "info") {
  out(["/var/lib/docker"]);
} else if (args[0] === "system") {
  out(["Images 12.5MB", "Containers 0B"]);
} else if (args[0] === "image" && args[1] === "ls") {
  const last = args[args.length - 1];
  const repo = last.startsWith("reference=") ? "hcloud-deploy/" : last + ":";
  const mine = state.images.filter((i) => i.tag.startsWith(repo));
  out(mine.map((i) => (has("--no-trunc") ? i.tag + " " + i.id : i.tag)));
} else if (args[0] === "image" && args[1] === "inspect") {
  const image = state.images.find((i) => i.tag === args[args.length - 1]);
  out(['"' + image.lastTagTime + '" ' + image.id]);
} else if (args[0] === "image" && args[1] === "prune") {
  out(["Deleted Images:", "Total reclaimed space: 12MB"]);
} else if (args[0] === "rmi") {
  // Logged above; nothing else to do.
} else {
  process.stderr.write("fake docker: unexpected " + args.join(" ") + "\n");
  process.exit(99);
}
`;

export interface FakeHost {
  /** Runs a sh script with the stubs first on PATH; never throws. */
  run(script: string): { code: number; stdout: string; stderr: string };
  /** Every stub call so far, as "<command> <args>". */
  calls(): string[];
  readonly dir: string;
  cleanup(): void;
}

export function fakeHost(state: FakeHostState): FakeHost {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hcd-fake-host-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  for (const name of ["docker", "curl", "df"]) {
    fs.writeFileSync(path.join(bin, name), `#!${process.execPath}\n${STUB}`, { mode: 0o755 });
  }
  fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify(state));
  const log = path.join(dir, "calls.log");
  fs.writeFileSync(log, "");
  const env = {
    PATH: `${bin}:/usr/bin:/bin`,
    FAKE_HOST_STATE: path.join(dir, "state.json"),
    FAKE_HOST_LOG: log,
  };
  return {
    dir,
    run: (script) => {
      const result = spawnSync("sh", ["-c", script], { env, encoding: "utf8" });
      return { code: result.status ?? 128, stdout: result.stdout, stderr: result.stderr };
    },
    calls: () => fs.readFileSync(log, "utf8").split("\n").filter(Boolean),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
