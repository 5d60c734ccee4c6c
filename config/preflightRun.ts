import * as pulumi from "@pulumi/pulumi";
import { CatalogAccess, fetchCatalog } from "./catalog";
import type { PlannedHost } from "./hostSpecs";
import { preflight } from "./preflight";

/**
 * Reads the live catalog and checks every host against it: warnings go to the engine's log, errors stop
 * the program before any resource exists (RunError: printed without a stack trace).
 */
export async function runPreflight(
  plans: readonly PlannedHost[],
  appsByHost: Readonly<Record<string, readonly string[]>>,
  access: CatalogAccess,
): Promise<void> {
  let catalog;
  try {
    catalog = await fetchCatalog(access);
  } catch (err) {
    throw new pulumi.RunError((err as Error).message);
  }
  const { errors, warnings } = preflight(plans, catalog, new Date(), appsByHost);
  for (const line of warnings) void pulumi.log.warn(`preflight: ${line}`);
  if (errors.length > 0) throw new pulumi.RunError(errors.map((line) => `preflight: ${line}`).join("\n"));
}
