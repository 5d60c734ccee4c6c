import * as fs from "fs";
import * as path from "path";
import { overSshScript } from "../../../components/shell/deployerCommand";
import { execScript } from "../../../components/shell/exec";
import { jobInstallScript, jobRemoveScript, jobRunScript } from "../../../components/shell/jobs";
import { imageIndexScript } from "../../../components/shell/imageIndex";
import { logsScript } from "../../../components/shell/logs";
import { packFunction } from "../../../components/shell/pack";
import { hostSetupScript } from "../../../components/shell/proxy";
import { pruneScript } from "../../../components/shell/prune";
import { readinessScript } from "../../../components/shell/readiness";
import { releaseScript } from "../../../components/shell/release";
import { registryPullDeliveryScript, registryPullScript } from "../../../components/shell/registryPull";
import { overSsh, reportScript } from "../../../components/shell/report";
import { rolloutRemoveScript, rolloutScript } from "../../../components/shell/rollout";
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
import { mountVolumeScript, unmountVolumeScript } from "../../../components/shell/volumes";
import { hostTag, image, ref, spec } from "../support/shellFixtures";
import { generateEd25519KeyPair } from "../../../components/sshKeys";
import { CheckedScript, describeFinding, Finding, hostScriptsIn, shellcheck } from "../support/shellcheck";

/**
 * shellcheck over every script the builders produce, in every variant the unit tests build (the option
 * combinations that change a script's text), over the host scripts the deployer scripts carry as quoted
 * words, and over the repository's own shell files.
 */

const root = path.join(__dirname, "../../..");
const shellDir = path.join(root, "components/shell");

const target = {
  address: "2001:db8::1",
  port: 22,
  user: "root",
  hostKey: generateEd25519KeyPair("web-1").publicKey,
};
const other = {
  address: "2001:db8::2",
  port: 2222,
  user: "root",
  hostKey: generateEd25519KeyPair("web-2").publicKey,
};
const registry = { server: "ghcr.io", username: "bot" };
const hosts = [
  { hostName: "web-1", target },
  { hostName: "web-2", target: other },
];
const delivery = { app: "web", hostTag, imageRef: ref, registry };
const hetznerVolume = {
  app: "db",
  hostName: "web-1",
  volume: { name: "data" },
  volumeId: "4711",
  sizeGb: 20,
};
const job = {
  app: "db",
  hostName: "web-1",
  job: "vacuum",
  calendar: "*-*-* 03:00:00",
  command: ["sh", "-c", "vacuumdb --all --analyze; echo '$PGHOST'"],
  timeoutSeconds: 600,
};
const withDomains = { ...spec, domains: ["shop.example.com", "example.com"] };
const checks = [
  { app: "web", port: 80, path: "/healthz" },
  { app: "shop", port: 443, path: "/", domain: "shop.example.com" },
];

interface Variant {
  /** The builder, to know which ones have a variant. */
  readonly builder: unknown;
  readonly name: string;
  readonly shell: "sh" | "bash";
  readonly text: string;
}

function variant<A extends unknown[]>(
  label: string,
  shell: "sh" | "bash",
  builder: (...args: A) => string,
  ...args: A
): Variant {
  const name = label ? `${builder.name} (${label})` : builder.name;
  return { builder, name, shell, text: builder(...args) };
}

const variants: Variant[] = [
  variant("", "sh", readinessScript, { hostName: "web-1", timeoutSeconds: 600 }),
  variant("", "sh", probeScript, image),
  variant("", "sh", armScript, image),
  variant("", "sh", linkScript, image),
  variant("", "sh", receiveScript, "web"),
  variant("", "sh", loadScript, image),
  variant("", "sh", tagScript, image),
  variant("", "sh", cleanupScript, image),
  variant("", "bash", packFunction),
  variant("one host", "bash", tarballDeliveryScript, { ...delivery, hosts: hosts.slice(0, 1) }),
  variant("two hosts", "bash", tarballDeliveryScript, { ...delivery, hosts }),
  variant("fan-out", "bash", tarballDeliveryScript, {
    ...delivery,
    hosts,
    parallelism: 3,
    leaveFailuresToHosts: true,
  }),
  variant("", "sh", registryPullScript, { ...image, ...delivery }),
  variant("https", "bash", imageIndexScript, {
    app: "web",
    indexTag: "ghcr.io/o/web:abc1234-dev",
    manifests: [ref, ref.replace(/.$/, "0")],
    registry,
    insecure: false,
  }),
  variant("insecure", "bash", imageIndexScript, {
    app: "web",
    indexTag: "registry.hcd.test:5000/local/web:abc1234-local",
    manifests: [ref],
    registry,
    insecure: true,
  }),
  variant("", "bash", registryPullDeliveryScript, { ...image, ...delivery, target }),
  variant("create", "sh", rolloutScript, spec),
  variant("update", "sh", rolloutScript, spec, "update"),
  variant("create, domains", "sh", rolloutScript, withDomains),
  variant("update, domains", "sh", rolloutScript, withDomains, "update"),
  variant("tcp check", "sh", rolloutScript, {
    ...spec,
    health: { type: "tcp", timeoutSeconds: 30, intervalSeconds: 1 },
  }),
  variant("command check", "sh", rolloutScript, {
    ...spec,
    health: { type: "command", command: ["pg_isready", "-U", "app"], timeoutSeconds: 30, intervalSeconds: 1 },
  }),
  variant("recreate, volumes", "sh", rolloutScript, {
    ...spec,
    strategy: "recreate",
    volumes: [
      { name: "data", path: "/var/lib/postgresql/data" },
      { name: "logs", path: "/logs" },
    ],
  }),
  variant("overlap, volumes", "sh", rolloutScript, { ...spec, volumes: [{ name: "data", path: "/data" }] }),
  variant("no route, recreate", "sh", rolloutScript, { ...spec, hostPort: undefined, strategy: "recreate" }),
  variant("recreate, tcp check", "sh", rolloutScript, {
    ...spec,
    strategy: "recreate",
    health: { type: "tcp", timeoutSeconds: 30, intervalSeconds: 1 },
  }),
  variant("", "sh", mountVolumeScript, hetznerVolume),
  variant("kept", "sh", unmountVolumeScript, { ...hetznerVolume, kept: true }),
  variant("deleted", "sh", unmountVolumeScript, { ...hetznerVolume, kept: false }),
  variant("volumes", "sh", releaseScript, {
    app: "api",
    hostName: "web-1",
    image: hostTag,
    command: ["./migrate", "up"],
    timeoutSeconds: 300,
    memory: "256m",
    cpus: 1,
    volumes: [{ name: "data", path: "/data" }],
  }),
  variant("", "sh", releaseScript, {
    app: "api",
    hostName: "web-1",
    image: hostTag,
    command: ["sh", "-c", "echo $HOME `id`; ./migrate up"],
    timeoutSeconds: 300,
    memory: "256m",
    cpus: 1,
  }),
  variant("", "sh", rolloutRemoveScript, spec),
  variant("domains", "sh", rolloutRemoveScript, withDomains),
  variant("acme, email", "sh", hostSetupScript, "web-1", { issuer: "acme", email: "ops@example.com" }),
  variant("acme", "sh", hostSetupScript, "web-1", { issuer: "acme" }),
  variant("internal CA", "sh", hostSetupScript, "web-1", { issuer: "internal" }),
  variant("default lock", "sh", pruneScript, { app: "web", hostName: "web-1", keep: 3, pinned: [] }),
  variant("pinned", "sh", pruneScript, {
    app: "web",
    hostName: "web-1",
    keep: 1,
    pinned: [hostTag],
    lockFile: "/tmp/images.lock",
  }),
  variant("no checks", "sh", reportScript, { proxySocket: "/run/caddy/admin.sock", checks: [] }),
  variant("checks", "sh", reportScript, { proxySocket: "/run/caddy/admin.sock", checks }),
  variant("", "sh", logsScript, { app: "web", hostName: "web-1" }),
  variant("job, follow", "sh", logsScript, {
    app: "web",
    hostName: "web-1",
    job: "cleanup",
    follow: true,
    tail: 20,
  }),
  variant("every option", "sh", logsScript, {
    app: "web",
    hostName: "web-1",
    follow: true,
    since: "10m",
    tail: 50,
  }),
  variant("", "sh", jobRunScript, job),
  variant("", "sh", jobInstallScript, job),
  variant("", "sh", jobRemoveScript, job),
  variant("running", "sh", execScript, {
    app: "web",
    hostName: "web-1",
    command: ["sh", "-c", "echo $HOME"],
  }),
  variant("new, tty", "sh", execScript, {
    app: "db",
    hostName: "web-1",
    command: ["psql", "-c", "select 1"],
    fresh: true,
    tty: true,
  }),
  variant(
    "exec, key on fd 3, tty",
    "bash",
    overSsh,
    target,
    "web-1",
    "web",
    execScript({ app: "web", hostName: "web-1", command: ["id"] }),
    { keyFd: 3, tty: true },
  ),
  variant("status", "bash", overSsh, target, "web-1", "status", reportScript({ proxySocket: "/s", checks })),
  variant("logs", "bash", overSsh, target, "web-1", "logs", logsScript({ app: "web", hostName: "web-1" })),
  variant("service", "bash", overSshScript, {
    subject: "web",
    hostName: "web-1",
    target,
    create: rolloutScript(spec),
    update: rolloutScript(spec, "update"),
    delete: rolloutRemoveScript(spec),
  }),
  variant("host setup", "bash", overSshScript, {
    subject: "proxy",
    hostName: "web-1",
    target: other,
    create: hostSetupScript("web-1", { issuer: "internal" }),
  }),
];

/** Every exported builder of a whole script: its name ends in Script, or it is one of the others named. */
function builders(): Map<string, unknown> {
  const found = new Map<string, unknown>();
  for (const file of fs.readdirSync(shellDir).filter((f) => f.endsWith(".ts"))) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exports = require(path.join(shellDir, file)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(exports)) {
      if (
        typeof value === "function" &&
        (/Script$/.test(name) || ["overSsh", "packFunction"].includes(name))
      ) {
        found.set(`${file}: ${name}`, value);
      }
    }
  }
  return found;
}

/** The repository's shell files; a sourced one without a shebang names its shell in a directive. */
function repositoryScripts(): CheckedScript[] {
  return ["local", "scripts"].flatMap((dir) =>
    fs
      .readdirSync(path.join(root, dir))
      .filter((f) => f.endsWith(".sh"))
      .map((f) => ({ name: `${dir}/${f}`, file: path.join(root, dir, f) })),
  );
}

let report: { scripts: number; findings: Finding[] } | undefined;

afterAll(() => {
  if (report)
    process.stdout.write(`shellcheck: ${report.scripts} scripts, ${report.findings.length} findings\n`);
});

test("every script builder has a variant here", () => {
  const covered = new Set<unknown>(variants.map((v) => v.builder));
  const all = builders();
  const missing = [...all].filter(([, fn]) => !covered.has(fn)).map(([name]) => name);
  expect(missing).toEqual([]);
  expect(all.size).toBeGreaterThanOrEqual(20);
});

test("the host scripts a deployer script carries are found, as the host gets them", () => {
  const tarball = tarballDeliveryScript({ ...delivery, hosts });
  const stages = [probeScript, armScript, linkScript, loadScript, cleanupScript, tagScript];
  expect(hostScriptsIn(tarball)).toEqual(stages.map((stage) => stage(image)));
  const service = variants.find((v) => v.name === "overSshScript (service)");
  expect(hostScriptsIn(service?.text ?? "")).toEqual([
    rolloutScript(spec),
    rolloutScript(spec, "update"),
    rolloutRemoveScript(spec),
  ]);
});

test("shellcheck finds nothing in the built scripts, the host scripts they carry, or the repository's", () => {
  const seen = new Set<string>();
  const built: CheckedScript[] = [];
  const add = (name: string, shell: "sh" | "bash", text: string) => {
    if (seen.has(text)) return;
    seen.add(text);
    built.push({ name, shell, text });
  };
  for (const v of variants) add(v.name, v.shell, v.text);
  for (const v of variants.filter((v) => v.shell === "bash")) {
    hostScriptsIn(v.text).forEach((text, i) => add(`host script ${i + 1} of ${v.name}`, "sh", text));
  }
  const scripts = [...built, ...repositoryScripts()];
  const findings = shellcheck(scripts);
  report = { scripts: scripts.length, findings };
  // Far fewer would mean the variants or the host scripts in them were not found.
  expect(scripts.length).toBeGreaterThanOrEqual(builders().size + 10);
  expect(findings.map(describeFinding)).toEqual([]);
});
