import { ActionTarget, recordAction } from "./actions";
import { ApiError, invalidInput } from "./errors";
import { parseLabelSelector } from "./labels";
import { serverMatchesSelector } from "./render";
import { ActionRecord, FirewallRecord, FirewallTarget } from "./state";
import { StateStore } from "./store";

function sameTarget(a: FirewallTarget, b: FirewallTarget): boolean {
  if (a.type === "server") return b.type === "server" && a.serverId === b.serverId;
  return b.type === "label_selector" && a.selector === b.selector;
}

function describe(target: FirewallTarget): string {
  return target.type === "server" ? `server ${target.serverId}` : `label selector "${target.selector}"`;
}

function readTarget(value: unknown, field: string): FirewallTarget {
  const entry = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  const server = entry.server as { id?: unknown } | undefined;
  const labelSelector = entry.label_selector as { selector?: unknown } | undefined;
  if (entry.type === "server" && typeof server?.id === "number") {
    return { type: "server", serverId: server.id };
  }
  if (entry.type === "label_selector" && typeof labelSelector?.selector === "string") {
    parseLabelSelector(labelSelector.selector, field);
    return { type: "label_selector", selector: labelSelector.selector };
  }
  throw invalidInput(field, 'entries must be {"type":"server","server":{"id":…}} or a label_selector');
}

/** Reads `apply_to` / `remove_from`: a list of server or label-selector targets. */
export function readFirewallTargets(value: unknown, field: string): FirewallTarget[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidInput(field, "must be an array");
  return value.map((entry) => readTarget(entry, field));
}

function actionTargets(store: StateStore, firewall: FirewallRecord, target: FirewallTarget): ActionTarget[] {
  const servers =
    target.type === "server"
      ? [target.serverId]
      : store.state.servers
          .filter((server) => serverMatchesSelector(server, target.selector))
          .map((server) => server.id);
  return [
    { id: firewall.id, type: "firewall" },
    ...servers.map((id): ActionTarget => ({ id, type: "server" })),
  ];
}

/** Validates all targets first, so a rejected request changes nothing. One apply_firewall action per target. */
export function applyFirewall(
  store: StateStore,
  firewall: FirewallRecord,
  targets: FirewallTarget[],
): ActionRecord[] {
  targets.forEach((target, index) => {
    if (target.type === "server" && !store.state.servers.some((server) => server.id === target.serverId)) {
      throw new ApiError(404, "firewall_resource_not_found", `${describe(target)} does not exist`);
    }
    const earlier = [...firewall.appliedTo, ...targets.slice(0, index)];
    if (earlier.some((applied) => sameTarget(applied, target))) {
      throw new ApiError(
        422,
        "firewall_already_applied",
        `firewall ${firewall.id} is already applied to ${describe(target)}`,
      );
    }
  });
  firewall.appliedTo.push(...targets);
  return targets.map((target) =>
    recordAction(store, "apply_firewall", actionTargets(store, firewall, target)),
  );
}

export function removeFirewall(
  store: StateStore,
  firewall: FirewallRecord,
  targets: FirewallTarget[],
): ActionRecord[] {
  for (const target of targets) {
    if (firewall.appliedTo.some((applied) => sameTarget(applied, target))) continue;
    const server =
      target.type === "server" ? store.state.servers.find((s) => s.id === target.serverId) : undefined;
    const viaSelector = firewall.appliedTo.some(
      (applied) =>
        applied.type === "label_selector" && server && serverMatchesSelector(server, applied.selector),
    );
    if (viaSelector) {
      throw new ApiError(
        422,
        "firewall_managed_by_label_selector",
        `firewall ${firewall.id} reaches ${describe(target)} through a label selector; remove the selector instead`,
      );
    }
    throw new ApiError(
      404,
      "firewall_resource_not_found",
      `firewall ${firewall.id} is not applied to ${describe(target)}`,
    );
  }
  const actions = targets.map((target) =>
    recordAction(store, "remove_firewall", actionTargets(store, firewall, target)),
  );
  firewall.appliedTo = firewall.appliedTo.filter(
    (applied) => !targets.some((target) => sameTarget(applied, target)),
  );
  return actions;
}
