/**
 * What `npm run local:up` and the e2e test share: the Pulumi environment of a local stack, images
 * built by the local environment and pinned in the stack config, and pulumi invocations with live output.
 */
import { checkoutSource, GitSource, parseGitBuild, SOURCES_DIR } from "../config/gitSource";
import { ConfigNode } from "../config/reader";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, symlink } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { configKey } from "../config/schema";
import { run } from "./exec";
import { buildPostgresClientImage, buildPostgresImage } from "./debianImages";
import { buildHttpImage, EngineAddress, pushImage, TestImage } from "./images";
import { LocalEnvInfo } from "./environment";

/** The local stack's passphrase; documented in Pulumi.local.yaml, it protects nothing real. */
export const LOCAL_PASSPHRASE = "hcloud-deploy-local";

export interface LocalApp {
  name: string;
  /** Build context, relative to the project; for a build.git app, inside its commit's tree. */
  context: string;
  port: number;
  /** For an app built from another repository: the commit buildLocalImage fetches first. */
  git?: GitSource;
}

/**
 * Environment for pulumi against a local stack: file backend, passphrase, no network lookups and, while
 * the local environment runs, its deployer engine (without it, only commands that read state work).
 */
export function pulumiEnv(projectDir: string, env: LocalEnvInfo | undefined): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PULUMI_BACKEND_URL: `file://${path.join(projectDir, ".pulumi-local", "state")}`,
    PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? LOCAL_PASSPHRASE,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    // `npm run typecheck` checks the program; type-checking it again on every run costs seconds.
    PULUMI_NODEJS_TRANSPILE_ONLY: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    ...(env ? { DOCKER_HOST: env.dockerHost } : {}),
  };
}

/** The apps of a stack file that are built (the local environment builds those offline). */
export function localApps(stackFile: string): LocalApp[] {
  const config = parse(readFileSync(stackFile, "utf8")).config as Record<string, unknown>;
  const apps = new ConfigNode(configKey("apps"), (config[configKey("apps")] ?? []) as never).optionalItems();
  return apps
    .filter((n) => n.field("build").present)
    .map((n) => {
      const build = n.field("build");
      const app = { name: n.field("name").string(), port: n.field("port").integer(1, 65535) };
      if (build.object().git === undefined) return { ...app, context: build.field("context").string() };
      const git = parseGitBuild(build);
      return { ...app, context: path.join(SOURCES_DIR, git.commit, git.context), git };
    });
}

/**
 * How each example app's Dockerfile is stood in for offline (its base image comes from a registry this
 * machine cannot reach): the database and the api from Debian's packages, anything else FROM scratch with
 * busybox httpd serving the context's www/ directory on the app's port.
 */
const OFFLINE_BUILDS: Record<
  string,
  (engine: EngineAddress, app: LocalApp, context: string) => Promise<TestImage>
> = {
  "apps/db": (engine, app) => buildPostgresImage(engine, `local/${app.name}:build`, `local ${app.name}`),
  "apps/api": (engine, app, context) =>
    buildPostgresClientImage(engine, { tag: `local/${app.name}:build`, context, port: app.port }),
};

/** Builds an app's image the way this machine can offline, pushes it and returns the digest reference. */
export async function buildLocalImage(projectDir: string, app: LocalApp, env: LocalEnvInfo): Promise<string> {
  const engine: EngineAddress = { dockerHost: env.dockerHost };
  if (app.git) {
    checkoutSource(app.git, `${app.name}.build.commit`, process.env.SOURCE_TOKEN || undefined, projectDir);
    process.stderr.write(`source: ${app.name} built from ${app.git.commit} of ${app.git.url}\n`);
  }
  const context = path.join(projectDir, app.context);
  const offline = OFFLINE_BUILDS[app.context];
  const image = offline
    ? await offline(engine, app, context)
    : await buildHttpImage(engine, {
        tag: `local/${app.name}:build`,
        siteDir: path.join(context, "www"),
        port: app.port,
      });
  const pushed = await pushImage(engine, image, env.registry, `local/${app.name}`, "latest");
  const digest = await run("docker", ["image", "inspect", "--format", "{{index .RepoDigests 0}}", pushed], {
    env: { ...process.env, DOCKER_HOST: env.dockerHost },
  });
  return digest.stdout.trim();
}

/** Runs pulumi with live output; rejects with the exit code on failure. */
export function pulumi(
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; input?: string },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("pulumi", args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ["pipe", "inherit", "inherit"],
    });
    child.stdin.end(opts.input ?? "");
    child.on("error", (err) => reject(new Error(`cannot run pulumi: ${err.message}`)));
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`pulumi ${args.join(" ")} failed with exit code ${code}`)),
    );
  });
}

/** Runs pulumi and returns its stdout (for --json output). */
export async function pulumiOutput(
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<string> {
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn("pulumi", args, { cwd: opts.cwd, env: opts.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
  if (result.code !== 0) throw new Error(`pulumi ${args.join(" ")} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

/** The digests a stack file pins (`hcloud-deploy:imagePins`), by app. */
export function stackPins(stackFile: string): Record<string, string> {
  const file = parse(readFileSync(stackFile, "utf8"));
  return (file.config?.["hcloud-deploy:imagePins"] ?? {}) as Record<string, string>;
}

export interface LocalPinPlan {
  /** Apps `local:up` builds from source and pins. */
  readonly build: readonly string[];
  /** Apps whose pin someone else set (a rollback): left as they are. */
  readonly kept: readonly (readonly [app: string, ref: string])[];
}

/**
 * Which apps `local:up` builds and pins: every app whose pin is the one `local:up` wrote last time (or
 * that has none); a pin set since by anything else, such as a rollback, stays unless rolling forward.
 * Without a record of what `local:up` wrote (`lastBuilt` undefined: a checkout from before the record
 * existed), every app is built, as `local:up` always did.
 */
export function planLocalPins(
  apps: readonly string[],
  current: Readonly<Record<string, string>>,
  lastBuilt: Readonly<Record<string, string>> | undefined,
  rollForward: boolean,
): LocalPinPlan {
  const heldElsewhere = (app: string) =>
    !rollForward && lastBuilt !== undefined && current[app] !== undefined && current[app] !== lastBuilt[app];
  return {
    build: apps.filter((app) => !heldElsewhere(app)),
    kept: apps.filter(heldElsewhere).map((app) => [app, current[app]] as const),
  };
}

/** Pins every app to its digest in the stack config (only where it changed, so the file stays still). */
export async function pinImages(
  stack: string,
  refs: Record<string, string>,
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<void> {
  const current = stackPins(path.join(opts.cwd, `Pulumi.${stack}.yaml`));
  for (const [app, ref] of Object.entries(refs)) {
    if (current[app] === ref) continue;
    await pulumi(
      ["config", "set", "--stack", stack, "--path", `${configKey("imagePins")}.${app}`, ref],
      opts,
    );
  }
}

/**
 * Selects (creating) `stack` in a project copy's own backend and points it at a local environment started
 * on other ports than the committed stack file names: its Hetzner API endpoint and registry.
 */
export async function selectStackOn(
  stack: string,
  env: LocalEnvInfo,
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<void> {
  await mkdir(path.join(opts.cwd, ".pulumi-local", "state"), { recursive: true });
  await pulumi(["stack", "select", stack, "--create", "--secrets-provider", "passphrase"], opts);
  await pulumi(["config", "set", "--stack", stack, "hcloud:endpoint", env.hcloudEndpoint], opts);
  await pulumi(
    ["config", "set", "--stack", stack, "--path", `${configKey("registry")}.server`, env.registry.host],
    opts,
  );
}

/** Copies the project's tracked files to `dest` (a stack run there edits app sources and its stack file). */
export async function copyProject(root: string, dest: string): Promise<void> {
  const files = (await run("git", ["-C", root, "ls-files", "-z"])).stdout.split("\0").filter(Boolean);
  for (const file of files) {
    await mkdir(path.dirname(path.join(dest, file)), { recursive: true });
    await run("cp", ["-p", path.join(root, file), path.join(dest, file)]);
  }
  await symlink(path.join(root, "node_modules"), path.join(dest, "node_modules"));
}
