import * as pulumi from "@pulumi/pulumi";
import type { PreviousDeployment } from "./hostSpecs";
import { configKey } from "./schema";
import { ConfigError } from "./reader";
import type { AppConfig } from "./types";

/** The key of one app's volume in the `volumeSizes` stack output: `<app>/<volume>`. */
const keyOf = (app: string, volume: string) => `${app}/${volume}`;

/** What the stack exports, so the next deployment can refuse a shrink: GB per Hetzner Volume. */
export function volumeSizesOutput(apps: readonly AppConfig[]): Record<string, number> {
  return Object.fromEntries(
    apps.flatMap((app) =>
      app.volumes.flatMap((v) => (v.size === undefined ? [] : [[keyOf(app.name, v.name), v.size]])),
    ),
  );
}

/**
 * Hetzner Volumes only grow: a smaller size than the last deployment's fails the preview in one line
 * (a RunError: Pulumi prints it without a stack trace).
 */
export function checkVolumeSizes(apps: readonly AppConfig[], previous: PreviousDeployment): void {
  apps.forEach((app, i) => {
    app.volumes.forEach((v, j) => {
      const before = previous.volumeSizes[keyOf(app.name, v.name)];
      if (v.size === undefined || before === undefined || v.size >= before) return;
      const problem = new ConfigError(
        `${configKey("apps")}[${i}].volumes[${j}].size`,
        `${v.size} GB is smaller than the ${before} GB volume "${v.name}" of app "${app.name}" has: Hetzner ` +
          "Volumes only grow (copy the data to a new volume to shrink)",
      );
      throw new pulumi.RunError(problem.message);
    });
  });
}
