/**
 * The stack's own last deployment: what each host's server was created with (`hostSpecs`), and which hosts
 * had a server (`serverIds`, exported by every release). Read with the engine's built-in invoke behind
 * stack references, so nothing is registered: a refresh after an update has nothing to re-read.
 */
import * as pulumi from "@pulumi/pulumi";
import { HostSpec, NO_PREVIOUS_DEPLOYMENT, PreviousDeployment } from "./hostSpecs";

export const READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs";

function asRecord<T>(value: unknown): Record<string, T> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, T>) : {};
}

export async function readPreviousDeployment(): Promise<PreviousDeployment> {
  const name = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
  const result = (await pulumi.runtime.invoke(READ_STACK_OUTPUTS, { name })) as { outputs?: unknown };
  const outputs = asRecord<unknown>(result?.outputs);
  if (outputs.hostSpecs === undefined && outputs.serverIds === undefined) return NO_PREVIOUS_DEPLOYMENT;
  return {
    hostSpecs: asRecord<HostSpec>(outputs.hostSpecs),
    serverIds: asRecord<string>(outputs.serverIds),
    volumeSizes: asRecord<number>(outputs.volumeSizes),
    servedPorts: servedPortsOf(outputs.hostApps),
  };
}

/** From `hostApps` (per host, per app): each app's plain-HTTP host port, where it had one. */
export function servedPortsOf(hostApps: unknown): Record<string, number> {
  const served: Record<string, number> = {};
  for (const apps of Object.values(asRecord<unknown>(hostApps))) {
    for (const [app, v] of Object.entries(asRecord<{ hostPort?: unknown; domains?: unknown }>(apps))) {
      const noDomains = !Array.isArray(v?.domains) || v.domains.length === 0;
      if (typeof v?.hostPort === "number" && noDomains) served[app] = v.hostPort;
    }
  }
  return served;
}
