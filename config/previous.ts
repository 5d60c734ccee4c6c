/**
 * The stack's own last deployment, read through a stack reference to itself: what each host's server was
 * created with (`hostSpecs`), and which hosts had a server (`serverIds`, exported by every release).
 */
import * as pulumi from "@pulumi/pulumi";
import { HostSpec, NO_PREVIOUS_DEPLOYMENT, PreviousDeployment } from "./hostSpecs";

function asRecord<T>(value: unknown): Record<string, T> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, T>) : {};
}

export async function readPreviousDeployment(): Promise<PreviousDeployment> {
  const self = new pulumi.StackReference("previous-deployment", {
    name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`,
  });
  const [hostSpecs, serverIds] = await Promise.all(
    ["hostSpecs", "serverIds"].map(async (name) => (await self.getOutputDetails(name)).value),
  );
  if (hostSpecs === undefined && serverIds === undefined) return NO_PREVIOUS_DEPLOYMENT;
  return { hostSpecs: asRecord<HostSpec>(hostSpecs), serverIds: asRecord<string>(serverIds) };
}
