/**
 * The images CI builds, read from the stack files, and the image pins it hands to `pulumi`.
 *
 *   npx ts-node scripts/ci-apps.ts --stack dev --stack prod
 *       prints the build matrix, one line of JSON: {"include":[{app, image, registry, username, context,
 *       dockerfile}]}, one entry per image repository however many stacks deploy it
 *   npx ts-node scripts/ci-apps.ts sources --stack dev --stack prod
 *       fetches the pinned commit of each app built from another repository (build.git) into .sources/,
 *       where the matrix's context points; the token for private ones in SOURCE_TOKEN
 *   npx ts-node scripts/ci-apps.ts pins --stack dev --built '{"ghcr.io/o/web":"ghcr.io/o/web@sha256:…"}'
 *       prints "<app>\t<digest ref>" for every app the stack builds, from the build job's output
 *   npx ts-node scripts/ci-apps.ts pins --stack dev --deployed "$(pulumi stack output --json --stack dev)"
 *       the same, from the images the stack runs now (its `appImages` output); apps it has never deployed
 *       are left out, so a preview builds them
 *
 * An app is built by CI when its entry in `hcloud-deploy:apps` has `build` and the stack file does not pin
 * it in `hcloud-deploy:imagePins` (a committed pin is a deliberate choice CI must not override). The stack
 * files are read as YAML: CI needs these few fields before any Pulumi credential is at hand.
 */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { Platform, platformOfServerType, platformsOf } from "../components/platforms";
import { checkoutSource, GitSource, parseGitBuild, SOURCES_DIR } from "../config/gitSource";
import { ConfigNode } from "../config/reader";
import { CONFIG_DEFAULTS, configKey } from "../config/schema";

/** One image to build: where it comes from and where it goes. */
export interface BuiltApp {
  readonly app: string;
  /** Repository without tag or digest: `<registry>/<namespace>/<app>`. */
  readonly image: string;
  readonly registry: string;
  readonly username: string;
  /** Docker build context, relative to the project root. */
  readonly context: string;
  /** Dockerfile path relative to the project root (the context joined with `build.dockerfile`). */
  readonly dockerfile: string;
  /** What `docker buildx build --platform` gets: the platforms of the app's hosts, e.g. `linux/amd64,linux/arm64`. */
  readonly platforms: string;
  /** For an app built from another repository: what `ci-apps.ts sources` fetches into `context`. */
  readonly git?: GitSource;
}

export interface StackApps {
  readonly stack: string;
  readonly apps: readonly BuiltApp[];
}

const STACK = /^[A-Za-z0-9_.-]+$/;
const LOWERCASE_NAME = /^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export class CiAppsError extends Error {}

/** The apps a stack builds, from the `config:` map of its stack file. Pure. */
export function parseStackApps(config: Record<string, unknown>): BuiltApp[] {
  const read = (name: "registry" | "apps" | "imagePins" | "hosts") =>
    new ConfigNode(configKey(name), config[configKey(name)] as never);
  const registryNode = read("registry");
  const appsNode = read("apps");
  const pins = read("imagePins").stringMap();
  const unpinned = appsNode
    .optionalItems()
    .filter((n) => n.field("build").present && !(n.field("name").string() in pins));
  if (unpinned.length === 0) return [];

  const registry = registryNode.field("server").string(CONFIG_DEFAULTS.registry.server);
  const namespace = registryNode
    .field("namespace")
    .matching(LOWERCASE_NAME, "a lowercase registry namespace");
  const username = registryNode.field("username").string();
  // A host without a serverType gets a default type, and every default is x86.
  const serverTypes = new Map(
    read("hosts")
      .optionalItems()
      .map((h) => [h.field("name").string(), h.field("serverType").string("")]),
  );
  return unpinned.map((n) => {
    const app = n.field("name").matching(LOWERCASE_NAME, "a lowercase app name");
    const build = n.field("build");
    const git = build.object().git !== undefined ? parseGitBuild(build) : undefined;
    // A pinned commit is built from its tree, where `sources` unpacks it (as the program does).
    const context = git
      ? path.posix.join(SOURCES_DIR, git.commit, git.context)
      : build.field("context").string();
    const dockerfile = git?.dockerfile ?? build.field("dockerfile").string(CONFIG_DEFAULTS.dockerfile);
    return {
      app,
      image: `${registry}/${namespace}/${app}`,
      registry,
      username,
      context,
      dockerfile: path.posix.join(context, dockerfile),
      platforms: platformsOfHosts(n.field("hosts").strings([]), serverTypes),
      ...(git ? { git } : {}),
    };
  });
}

/** The platforms the named hosts run; linux/amd64 for an app that names none (the config check says so). */
function platformsOfHosts(hosts: readonly string[], serverTypes: ReadonlyMap<string, string>): string {
  const platforms = platformsOf(hosts.map((h) => platformOfServerType(serverTypes.get(h) ?? "")));
  return (platforms.length > 0 ? platforms : ["linux/amd64"]).join(",");
}

export function readStack(root: string, stack: string): StackApps {
  if (!STACK.test(stack)) throw new CiAppsError(`"${stack}" is not a stack name`);
  const file = `Pulumi.${stack}.yaml`;
  let text: string;
  try {
    text = fs.readFileSync(path.join(root, file), "utf8");
  } catch {
    throw new CiAppsError(`${file}: no such stack file in ${root}`);
  }
  const doc = parse(text) as { config?: Record<string, unknown> } | null;
  try {
    return { stack, apps: parseStackApps(doc?.config ?? {}) };
  } catch (err) {
    throw new CiAppsError(`${file}: ${(err as Error).message}`);
  }
}

/** Every image any of the stacks builds, once: stacks that share a repository share its build. */
export function buildMatrix(stacks: readonly StackApps[]): { include: BuiltApp[] } {
  const byImage = new Map<string, { app: BuiltApp; stack: string }>();
  for (const { stack, apps } of stacks) {
    for (const app of apps) {
      const seen = byImage.get(app.image);
      if (!seen) {
        byImage.set(app.image, { app, stack });
      } else if (seen.app.context === app.context && seen.app.dockerfile === app.dockerfile) {
        // One build serves every stack's hosts: the union of their platforms.
        const platforms = platformsOf([
          ...seen.app.platforms.split(","),
          ...app.platforms.split(","),
        ] as Platform[]);
        byImage.set(app.image, { ...seen, app: { ...seen.app, platforms: platforms.join(",") } });
      } else if (seen.app.context !== app.context || seen.app.dockerfile !== app.dockerfile) {
        throw new CiAppsError(
          `${app.image} is built from ${seen.app.dockerfile} by stack ${seen.stack} but from ` +
            `${app.dockerfile} by stack ${stack}: one repository cannot hold both` +
            (app.git ? " (stacks sharing an image repository pin the same commit of its source)" : ""),
        );
      }
    }
  }
  return { include: [...byImage.values()].map((v) => v.app) };
}

function asObject(what: string, value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CiAppsError(`${what}: must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

function jsonObject(flag: string, text: string): Record<string, unknown> {
  try {
    return asObject(flag, JSON.parse(text));
  } catch (err) {
    throw err instanceof CiAppsError ? err : new CiAppsError(`${flag}: not valid JSON`);
  }
}

function checkRef(flag: string, app: BuiltApp, ref: unknown): string {
  const digest =
    typeof ref === "string" && ref.startsWith(`${app.image}@`) ? ref.slice(app.image.length + 1) : "";
  if (!DIGEST.test(digest)) {
    throw new CiAppsError(
      `${flag}: ${JSON.stringify(ref)} for app "${app.app}" is not ${app.image}@sha256:<64 hex>`,
    );
  }
  return ref as string;
}

/** Pins every app of the stack to the image the build job pushed for it; all must be there. */
export function pinsFromBuilt(stack: StackApps, builtJson: string): [string, string][] {
  const built = jsonObject("--built", builtJson);
  return stack.apps.map((app) => {
    if (!(app.image in built)) {
      throw new CiAppsError(
        `--built: no image was built for ${app.image} (app "${app.app}" of ${stack.stack})`,
      );
    }
    return [app.app, checkRef("--built", app, built[app.image])];
  });
}

/** Pins every app the stack has deployed to the image it runs now; apps it never deployed stay unpinned. */
export function pinsFromDeployed(stack: StackApps, outputsJson: string): [string, string][] {
  const outputs = jsonObject("--deployed", outputsJson);
  const running = outputs.appImages === undefined ? {} : asObject("--deployed: appImages", outputs.appImages);
  return stack.apps
    .filter((app) => app.app in running)
    .map((app) => [app.app, checkRef("--deployed", app, running[app.app])]);
}

/**
 * Fetches the pinned commit of every app the stacks build from another repository into `.sources/`, with
 * the token in SOURCE_TOKEN (never argv); prints one `source: <app> built from <commit>` line each.
 */
export function fetchSources(root: string, stacks: readonly StackApps[], token: string | undefined): string {
  const seen = new Set<string>();
  return stacks
    .flatMap((s) => s.apps)
    .filter((app) => app.git !== undefined && !seen.has(app.image) && seen.add(app.image))
    .map((app) => {
      const git = app.git as GitSource;
      checkoutSource(git, `${app.app}.build.commit`, token, root);
      return `source: ${app.app} built from ${git.commit} of ${git.url}`;
    })
    .join("\n");
}

const USAGE =
  "usage: ci-apps.ts --stack <stack> [--stack <stack>...]\n" +
  "       ci-apps.ts sources --stack <stack> [--stack <stack>...]   (token in SOURCE_TOKEN)\n" +
  "       ci-apps.ts pins --stack <stack> (--built <json> | --deployed <json>)";

function parseArgs(argv: readonly string[]): {
  command: "matrix" | "pins" | "sources";
  flags: Map<string, string[]>;
} {
  const args = [...argv];
  const command = args[0] === "pins" || args[0] === "sources" ? args[0] : "matrix";
  if (command !== "matrix") args.shift();
  const flags = new Map<string, string[]>();
  while (args.length > 0) {
    const flag = args.shift() as string;
    const value = args.shift();
    if (!["--stack", "--built", "--deployed"].includes(flag) || value === undefined) {
      throw new CiAppsError(USAGE);
    }
    flags.set(flag, [...(flags.get(flag) ?? []), value]);
  }
  return { command, flags };
}

/** Runs one ci-apps command (argv as after the script name) and returns what it prints. */
export function runCiApps(argv: readonly string[], root: string): string {
  const { command, flags } = parseArgs(argv);
  const stacks = flags.get("--stack") ?? [];
  if (stacks.length === 0) throw new CiAppsError(USAGE);
  if (command === "matrix" || command === "sources") {
    if (flags.has("--built") || flags.has("--deployed")) throw new CiAppsError(USAGE);
    const read = stacks.map((s) => readStack(root, s));
    if (command === "sources") return fetchSources(root, read, process.env.SOURCE_TOKEN || undefined);
    return JSON.stringify(buildMatrix(read));
  }
  const built = flags.get("--built") ?? [];
  const deployed = flags.get("--deployed") ?? [];
  if (stacks.length !== 1 || built.length + deployed.length !== 1) throw new CiAppsError(USAGE);
  const stack = readStack(root, stacks[0]);
  const pins = built.length === 1 ? pinsFromBuilt(stack, built[0]) : pinsFromDeployed(stack, deployed[0]);
  return pins.map(([app, ref]) => `${app}\t${ref}`).join("\n");
}
