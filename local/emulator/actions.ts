import { StateStore } from "./store";
import { ActionRecord } from "./state";

/** RFC 3339 without fractions, the form the real API sends; Go rejects "" in a time field. */
export function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

export interface ActionTarget {
  id: number;
  type: "server" | "primary_ip" | "firewall" | "network" | "load_balancer" | "certificate" | "volume";
}

/**
 * Records a finished action. Actions are never returned `running`: hcloud-go then skips polling entirely
 * (it sleeps at least 0.5 s before each poll), and a restarted emulator has no half-done work to resume.
 */
export function recordAction(
  store: StateStore,
  command: string,
  targets: ActionTarget[],
  error: ActionRecord["error"] = null,
): ActionRecord {
  const now = timestamp();
  const action: ActionRecord = {
    id: store.nextId("action"),
    command,
    status: error ? "error" : "success",
    started: now,
    finished: now,
    resources: targets.map(({ id, type }) => ({ id, type })),
    error,
  };
  store.state.actions.push(action);
  return action;
}

export function renderAction(action: ActionRecord): Record<string, unknown> {
  return { ...action, progress: 100 };
}

/**
 * For changes to networks and load balancers: brings the backend in line, then records the action,
 * failed with the backend's reason if it could not.
 */
export async function syncedAction(
  context: { store: StateStore; cloud: { sync(): Promise<void> } },
  command: string,
  targets: ActionTarget[],
): Promise<ActionRecord> {
  try {
    await context.cloud.sync();
    return recordAction(context.store, command, targets);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return recordAction(context.store, command, targets, { code: "action_failed", message });
  }
}
