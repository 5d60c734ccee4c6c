/**
 * Pure planning for `scripts/rollback.ts`: which images a stack version deployed, and the `pulumi`
 * commands that pin them again. Shapes are those `pulumi stack history --json` and `pulumi stack export`
 * print (recorded in test/unit/ops/fixtures/rollback/).
 */
import { parse } from "yaml";
import { APP_NAME, configKey, DIGEST_REF } from "../config/schema";

export class RollbackError extends Error {}

/** One history entry, numbered the way Pulumi Cloud numbers it (oldest 1). */
export interface StackVersion {
  readonly number: number;
  readonly kind: string;
  readonly result: string;
  readonly startTime: string;
  readonly message: string;
  readonly config: Readonly<Record<string, unknown>>;
}

/** What a version's own config says it deployed. */
export interface ConfigImages {
  /** App names of `hcloud-deploy:apps`; undefined when absent or secret (history hides secret values). */
  readonly apps: readonly string[] | undefined;
  /** App → digest ref: `imagePins`, else the app's prebuilt `image`, as the program resolves them. */
  readonly refs: Readonly<Record<string, string>>;
}

export interface RollbackPlan {
  readonly pins: readonly (readonly [app: string, ref: string])[];
  /** Apps defined now that the version did not have: their images stay as they are. */
  readonly untouched: readonly string[];
  /** Apps of the version no longer defined: the program rejects pins for them, so none is written. */
  readonly undefinedNow: readonly string[];
  readonly commands: readonly (readonly string[])[];
}

const PINS_KEY = configKey("imagePins");
const APPS_KEY = configKey("apps");

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Numbers entries of `pulumi stack history --json` (newest first). The file backend reports version 0 for
 * every entry, so the position stands in for the number Pulumi Cloud would give.
 */
export function parseHistory(json: string): StackVersion[] {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new RollbackError("pulumi stack history did not print JSON");
  }
  if (!Array.isArray(raw)) throw new RollbackError("pulumi stack history did not print a JSON array");
  return raw.map((e: unknown, i) => {
    if (!isObject(e)) throw new RollbackError("pulumi stack history printed an entry that is not an object");
    const version = typeof e.version === "number" ? e.version : 0;
    return {
      number: version > 0 ? version : raw.length - i,
      kind: String(e.kind),
      result: String(e.result),
      startTime: String(e.startTime ?? ""),
      message: String(e.message ?? ""),
      config: isObject(e.config) ? e.config : {},
    };
  });
}

/** The version to roll back to, or a one-line reason it cannot be. */
export function pickVersion(stack: string, versions: readonly StackVersion[], n: number): StackVersion {
  if (versions.length === 0) throw new RollbackError(`stack ${stack} has no deployments yet`);
  const found = versions.find((v) => v.number === n);
  if (!found) {
    const numbers = versions.map((v) => v.number);
    throw new RollbackError(
      `stack ${stack} has no version ${n} (versions ${Math.min(...numbers)}-${Math.max(...numbers)} exist)`,
    );
  }
  if (found.kind !== "update") {
    throw new RollbackError(
      `version ${n} of stack ${stack} is a ${found.kind}, not an update: it deployed no images`,
    );
  }
  if (found.result !== "succeeded") {
    throw new RollbackError(`version ${n} of stack ${stack} did not succeed (result: ${found.result})`);
  }
  return found;
}

/** A history config value: `objectValue` for objects and arrays, nothing at all when secret. */
function configValue(config: Readonly<Record<string, unknown>>, key: string): unknown {
  const entry = config[key];
  if (!isObject(entry) || entry.secret === true) return undefined;
  if ("objectValue" in entry) return entry.objectValue;
  if (typeof entry.value !== "string") return undefined;
  try {
    return JSON.parse(entry.value);
  } catch {
    return undefined;
  }
}

function checkRef(where: string, app: string, ref: unknown): string {
  if (!APP_NAME.test(app)) throw new RollbackError(`${where}: "${app}" is not an app name`);
  if (typeof ref !== "string" || !DIGEST_REF.test(ref)) {
    throw new RollbackError(
      `${where}: ${JSON.stringify(ref)} for app ${app} is not registry/name@sha256:<64 hex>`,
    );
  }
  return ref;
}

export function imagesFromConfig(v: StackVersion): ConfigImages {
  const where = `version ${v.number}`;
  const appList = configValue(v.config, APPS_KEY);
  const apps = Array.isArray(appList) ? appList.filter(isObject) : undefined;
  const refs: Record<string, string> = {};
  for (const app of apps ?? []) {
    if (typeof app.image === "string") refs[String(app.name)] = checkRef(where, String(app.name), app.image);
  }
  const pins = configValue(v.config, PINS_KEY);
  if (isObject(pins)) {
    for (const [app, ref] of Object.entries(pins)) refs[app] = checkRef(`${where} ${PINS_KEY}`, app, ref);
  }
  return { apps: apps?.map((a) => String(a.name)), refs };
}

/** The apps whose ref the config leaves open; undefined when the config does not say which apps there were. */
export function missingFromConfig(images: ConfigImages): string[] | undefined {
  return images.apps?.filter((app) => !(app in images.refs));
}

/** `outputs.appImages` of the stack resource in `pulumi stack export` output. */
export function appImagesFromExport(json: string, version: number): Record<string, string> {
  const where = `export of version ${version}`;
  const doc = JSON.parse(json) as { deployment?: { resources?: unknown[] } };
  const stack = (doc.deployment?.resources ?? [])
    .filter(isObject)
    .find((r) => r.type === "pulumi:pulumi:Stack");
  const appImages = isObject(stack) && isObject(stack.outputs) ? stack.outputs.appImages : undefined;
  if (!isObject(appImages)) throw new RollbackError(`${where}: the stack has no appImages output`);
  return Object.fromEntries(Object.entries(appImages).map(([app, ref]) => [app, checkRef(where, app, ref)]));
}

/** App names defined in a stack file (`Pulumi.<stack>.yaml`); names are plain even when values are secure. */
export function appsInStackFile(text: string): string[] {
  const doc = parse(text) as { config?: Record<string, unknown> } | null;
  const apps = doc?.config?.[APPS_KEY] ?? [];
  if (!Array.isArray(apps)) throw new RollbackError(`${APPS_KEY} in the stack file is not a list`);
  return apps.filter(isObject).map((a) => String(a.name));
}

/**
 * Combines the sources in order: the version's config first, then its exported `appImages` for what the
 * config leaves open. Every app the version had needs a ref.
 */
export function resolveImages(
  v: StackVersion,
  fromConfig: ConfigImages,
  fromExport: Readonly<Record<string, string>> | undefined,
  exportProblem: string,
): Record<string, string> {
  const refs = { ...fromExport, ...fromConfig.refs };
  const apps = fromConfig.apps ?? Object.keys(refs);
  const missing = apps.filter((app) => !(app in refs));
  if (missing.length > 0) {
    throw new RollbackError(
      `cannot determine the image version ${v.number} deployed for ${missing.join(", ")}: ` +
        `not in its ${PINS_KEY} and ${exportProblem}`,
    );
  }
  if (apps.length === 0) throw new RollbackError(`cannot determine any image version ${v.number} deployed`);
  return Object.fromEntries(apps.map((app) => [app, refs[app]]));
}

export function upArgv(stack: string, version: number): string[] {
  return ["up", "--stack", stack, "--yes", "--skip-preview", "--message", `rollback to version ${version}`];
}

export function planRollback(
  stack: string,
  version: number,
  refs: Readonly<Record<string, string>>,
  appsNow: readonly string[],
): RollbackPlan {
  const pins = Object.entries(refs)
    .filter(([app]) => appsNow.includes(app))
    .map(([app, ref]) => [app, ref] as const);
  if (pins.length === 0) {
    throw new RollbackError(
      `none of the apps of version ${version} (${Object.keys(refs).join(", ")}) is defined now`,
    );
  }
  return {
    pins,
    untouched: appsNow.filter((app) => !(app in refs)),
    undefinedNow: Object.keys(refs).filter((app) => !appsNow.includes(app)),
    commands: [
      ...pins.map(([app, ref]) => ["config", "set", "--stack", stack, "--path", `${PINS_KEY}.${app}`, ref]),
      upArgv(stack, version),
    ],
  };
}

/** The `--list` view: one line per version, then the digests its config pins. */
export function formatHistory(versions: readonly StackVersion[]): string {
  if (versions.length === 0) return "no deployments yet";
  return versions
    .flatMap((v) => {
      const line =
        `${String(v.number).padStart(4)}  ${v.startTime}  ${v.kind} ${v.result}  ${v.message}`.trimEnd();
      if (v.kind !== "update") return [line];
      let refs: Readonly<Record<string, string>>;
      try {
        refs = imagesFromConfig(v).refs;
      } catch (err) {
        return [line, `        (${(err as Error).message})`];
      }
      return [
        line,
        ...Object.entries(refs)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([app, ref]) => `        ${app}  ${ref}`),
      ];
    })
    .join("\n");
}
