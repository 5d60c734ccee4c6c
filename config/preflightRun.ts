import * as pulumi from "@pulumi/pulumi";
import { Platform, platformOfServerType } from "../components/platforms";
import { CatalogAccess, fetchCatalog } from "./catalog";
import type { PlannedHost } from "./hostSpecs";
import { checkImagePlatforms } from "./imagePreflight";
import { checkReplicaMemory, preflight } from "./preflight";
import { readImagePlatforms, RegistryAccess, RegistryError } from "./registryImage";
import type { AppConfig } from "./types";

export interface PreflightInput {
  readonly plans: readonly PlannedHost[];
  readonly apps: readonly AppConfig[];
  readonly catalogAccess: CatalogAccess;
  readonly registryAccess: RegistryAccess;
}

export interface PreflightOutcome {
  /** Per host: the platform it runs. */
  readonly platforms: Readonly<Record<string, Platform>>;
  /** Per app with a prebuilt image: its image per platform its hosts run. */
  readonly prebuiltRefs: Readonly<Record<string, Partial<Record<Platform, string>>>>;
}

/**
 * Reads the live catalog and each prebuilt image's platforms, and checks every host and app against them:
 * warnings go to the engine's log, errors stop the program before any resource exists (RunError: printed
 * without a stack trace).
 */
export async function runPreflight(input: PreflightInput): Promise<PreflightOutcome> {
  const platforms = Object.fromEntries(input.plans.map((p) => [p.name, platformOfServerType(p.serverType)]));
  const prebuilt = input.apps.filter((a) => a.source.kind === "prebuilt");
  const [catalog, ...images] = await Promise.all([
    fetchCatalog(input.catalogAccess).catch((err: Error) => err),
    ...prebuilt.map((app) =>
      readImagePlatforms((app.source as { ref: string }).ref, input.registryAccess).catch(
        (err: Error) => err,
      ),
    ),
  ]);
  if (catalog instanceof Error) throw new pulumi.RunError(catalog.message);
  const { errors, warnings } = preflight(input.plans, catalog, new Date());
  errors.push(...checkReplicaMemory(input.apps, input.plans, catalog));
  const prebuiltRefs: Record<string, Partial<Record<Platform, string>>> = {};
  prebuilt.forEach((app, i) => {
    const image = images[i];
    if (image instanceof RegistryError) {
      errors.push(image.message);
      return;
    }
    if (image instanceof Error) throw image;
    const hosts = app.hosts.map((name) => {
      const plan = input.plans.find((p) => p.name === name) as PlannedHost;
      return { name, serverType: plan.serverType, platform: platforms[name] };
    });
    const check = checkImagePlatforms(app.name, hosts, image);
    errors.push(...check.errors);
    prebuiltRefs[app.name] = check.refs;
  });
  for (const line of warnings) void pulumi.log.warn(`preflight: ${line}`);
  if (errors.length > 0) throw new pulumi.RunError(errors.map((line) => `preflight: ${line}`).join("\n"));
  return { platforms, prebuiltRefs };
}
