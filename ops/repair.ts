/**
 * Pure planning of `npm run status -- --repair`: the drifted services' resources, found in
 * `pulumi stack export` by their parent URN (so whatever type or name a component gives its children),
 * and the `pulumi up` that replaces exactly those, recorded as a stack version with a message naming
 * the repair.
 */
import { OpsError } from "./stackCli";
import { AppStatus, HostStatus } from "./status";

interface StateResource {
  readonly urn: string;
  readonly custom: boolean;
  readonly parent?: string;
}

export interface RepairPlan {
  /** URNs of the resources to replace (the commands that put the apps back). */
  readonly targets: readonly string[];
  /** The `pulumi up` arguments; empty when there is nothing the stack can repair. */
  readonly argv: readonly string[];
  /** Drift no `pulumi up` repairs, one line each, saying what to do instead. */
  readonly cannot: readonly string[];
}

function resourcesOf(exportJson: string): StateResource[] {
  const doc = JSON.parse(exportJson) as { deployment?: { resources?: StateResource[] } };
  return doc.deployment?.resources ?? [];
}

/** Every custom resource below `root` (children, their children, …), in state order. */
export function customDescendants(resources: readonly StateResource[], root: string): string[] {
  const below = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const r of resources) {
      if (r.parent !== undefined && below.has(r.parent) && !below.has(r.urn)) {
        below.add(r.urn);
        grew = true;
      }
    }
  }
  return resources.filter((r) => r.custom && r.urn !== root && below.has(r.urn)).map((r) => r.urn);
}

function why(a: AppStatus): string {
  return `${a.app} on ${a.host} (${a.problems.join("; ")})`;
}

export function planRepair(stack: string, exportJson: string, hosts: readonly HostStatus[]): RepairPlan {
  const resources = resourcesOf(exportJson);
  const cannot = hosts
    .filter((h) => h.error !== undefined)
    .map((h) => `${h.error}; nothing can be repaired there until it answers`);
  const repairs: AppStatus[] = [];
  for (const a of hosts.flatMap((h) => h.apps).filter((x) => x.problems.length > 0)) {
    if (a.desired === undefined) {
      cannot.push(`${a.app} on ${a.host} is not in the stack: remove it on the host (docker rm -f ${a.app})`);
    } else repairs.push(a);
  }
  const targets = repairs.flatMap((a) => {
    const desired = a.desired!;
    const roots = a.imageMissing ? [desired.delivery, desired.service] : [desired.service];
    return roots.flatMap((root) => {
      const found = customDescendants(resources, root);
      if (found.length === 0) throw new OpsError(`stack ${stack}: no resources under ${root} in its state`);
      return found;
    });
  });
  if (targets.length === 0) return { targets, argv: [], cannot };
  const message = `repair: ${repairs.map(why).join("; ")}`;
  const argv = [
    ...["up", "--stack", stack, "--yes", "--skip-preview", "--suppress-outputs", "--message", message],
    ...targets.flatMap((urn) => ["--target", urn, "--replace", urn]),
  ];
  return { targets, argv, cannot };
}
