import { recordAction, renderAction } from "../actions";
import { optionalBoolean, optionalReference } from "../body";
import { findAnyServerType, findServerType, orderability } from "../catalog";
import { ApiError, invalidInput, serverNotStopped, soldOut, unsupportedLocation } from "../errors";
import { requireServer } from "../lookups";
import { RequestContext, Route, idParam } from "../router";
import { ServerRecord } from "../state";

type Effect = (server: ServerRecord, context: RequestContext) => unknown;

/** `POST /servers/{id}/actions/<name>` → 201 `{"action": …}`; bodies are optional (hcloud-go sends none). */
function serverAction(name: string, command: string, effect: Effect): Route {
  return {
    method: "POST",
    pattern: `/servers/:id/actions/${name}`,
    handler: async (context) => {
      const server = requireServer(context.store.state, idParam(context));
      if (server.status === "initializing") {
        throw new ApiError(423, "locked", `server ${server.id} is still being created`);
      }
      await effect(server, context);
      const action = recordAction(context.store, command, [{ id: server.id, type: "server" }]);
      return { status: 201, body: { action: renderAction(action) } };
    },
  };
}

const changeProtection: Effect = (server, { body }) => {
  const protectDelete = optionalBoolean(body, "delete") ?? server.deleteProtection;
  const protectRebuild = optionalBoolean(body, "rebuild") ?? server.rebuildProtection;
  // The API docs: "currently delete and rebuild attribute needs to have the same value".
  if (protectDelete !== protectRebuild) throw invalidInput("rebuild", "must have the same value as delete");
  server.deleteProtection = protectDelete;
  server.rebuildProtection = protectRebuild;
};

/** Needs a stopped server; the API then copies the disk and starts the server again. */
const changeType: Effect = (server, context) => {
  const { body } = context;
  const ref = optionalReference(body, "server_type");
  const marks = context.store.state.deprecationMarks;
  const type = findServerType(ref, marks);
  if (!type) throw invalidInput("server_type", `server type ${JSON.stringify(ref)} does not exist`);
  const upgradeDisk = optionalBoolean(body, "upgrade_disk");
  if (upgradeDisk === undefined) throw invalidInput("upgrade_disk", "is required");
  if (server.status !== "off") throw serverNotStopped(server.id);
  // The new type must be orderable where the server is, as on create.
  const answer = orderability(type, server.locationName, context.store.state.soldOut);
  if (answer === "unsupported") throw unsupportedLocation();
  if (answer === "sold_out") throw soldOut();
  const current = findAnyServerType(server.serverTypeName, marks);
  if (type.architecture !== current?.architecture || type.disk < server.primaryDiskSize) {
    throw new ApiError(
      422,
      "invalid_server_type",
      `server type ${type.name} does not fit server ${server.id}`,
    );
  }
  server.serverTypeName = type.name;
  if (upgradeDisk) server.primaryDiskSize = type.disk;
  server.status = "running";
};

/** A reboot or a reset: the machine behind the server goes through a power cut and boots again. */
const restart: Effect = async (server, { hosts }) => {
  await hosts.reboot(server.id);
  server.status = "running";
};

// Power on and off only change the reported status (the simulated host keeps running); reboot and reset
// boot the host again, finished when it answers.
export const serverActionRoutes: Route[] = [
  serverAction("poweron", "start_server", (server) => (server.status = "running")),
  serverAction("poweroff", "stop_server", (server) => (server.status = "off")),
  serverAction("shutdown", "shutdown_server", (server) => (server.status = "off")),
  serverAction("reboot", "reboot_server", restart),
  serverAction("reset", "reset_server", restart),
  serverAction("change_protection", "change_protection", changeProtection),
  serverAction("change_type", "change_server_type", changeType),
  serverAction("enable_backup", "enable_backup", (server) => (server.backupWindow = "22-02")),
  serverAction("disable_backup", "disable_backup", (server) => (server.backupWindow = null)),
];
