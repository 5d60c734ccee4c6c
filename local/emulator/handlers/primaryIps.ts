import { ActionTarget, recordAction, renderAction, timestamp } from "../actions";
import { optionalBoolean, optionalId, optionalReference, optionalString, requiredString } from "../body";
import { findLocation } from "../catalog";
import {
  ApiError,
  datacenterRemoved,
  invalidInput,
  protectedResource,
  serverNotStopped,
  uniquenessError,
  unsupported,
} from "../errors";
import { readLabels } from "../labels";
import { listBody } from "../listing";
import { assertAssignable, assertHasNoIpv6, requirePrimaryIp, requireServer } from "../lookups";
import { renderPrimaryIp } from "../render";
import { RequestContext, Route, idParam } from "../router";
import { PrimaryIpRecord, ServerRecord } from "../state";

function findIp(context: RequestContext): PrimaryIpRecord {
  return requirePrimaryIp(context.store.state, idParam(context));
}

function assertNameFree(context: RequestContext, name: string, exceptId?: number): void {
  if (context.store.state.primaryIps.some((ip) => ip.name === name && ip.id !== exceptId)) {
    throw uniquenessError("name", `primary IP with the name "${name}" already exists`);
  }
}

function readAssigneeType(context: RequestContext): void {
  const type = optionalString(context.body, "assignee_type");
  if (type !== undefined && type !== "server") throw invalidInput("assignee_type", 'must be "server"');
}

/** An assignee must exist and be powered off, as on the real API. */
function stoppedServer(context: RequestContext, id: number): ServerRecord {
  const server = context.store.state.servers.find((candidate) => candidate.id === id);
  if (!server) throw invalidInput("assignee_id", `server ${id} does not exist`);
  if (server.status !== "off") throw serverNotStopped(server.id);
  return server;
}

function createLocation(context: RequestContext, assignee: ServerRecord | undefined): string {
  if (context.body.datacenter !== undefined && context.body.datacenter !== null) throw datacenterRemoved();
  const location = optionalReference(context.body, "location");
  if ((location === undefined) === (assignee === undefined)) {
    throw invalidInput("location", "exactly one of location and assignee_id is required");
  }
  if (assignee) return assignee.locationName;
  const found = findLocation(location);
  if (!found) throw invalidInput("location", "unknown location");
  return found.name;
}

export const primaryIpRoutes: Route[] = [
  {
    method: "GET",
    pattern: "/primary_ips",
    handler: ({ store, query }) => {
      const ip = query.get("ip");
      const ips = store.state.primaryIps.filter(
        (candidate) => ip === null || candidate.network === ip || candidate.network === `${ip}/64`,
      );
      return { status: 200, body: listBody("primary_ips", ips.map(renderPrimaryIp), query) };
    },
  },
  {
    method: "POST",
    pattern: "/primary_ips",
    handler: (context) => {
      const { body, store } = context;
      const name = requiredString(body, "name");
      const type = requiredString(body, "type");
      if (type === "ipv4") {
        throw unsupported("the emulator simulates IPv6-only hosts; IPv4 primary IPs are not available");
      }
      if (type !== "ipv6") throw invalidInput("type", 'must be "ipv4" or "ipv6"');
      readAssigneeType(context);
      const assigneeId = optionalId(body, "assignee_id");
      const assignee = assigneeId === undefined ? undefined : stoppedServer(context, assigneeId);
      const locationName = createLocation(context, assignee);
      const labels = readLabels(body.labels);
      const autoDelete = optionalBoolean(body, "auto_delete") ?? false;
      assertNameFree(context, name);
      if (assignee) assertHasNoIpv6(store.state, assignee);
      const ip: PrimaryIpRecord = {
        id: store.nextId("primaryIp"),
        name,
        type: "ipv6",
        network: store.allocateIpv6Network(),
        locationName,
        labels,
        created: timestamp(),
        autoDelete,
        deleteProtection: false,
        assigneeId: assignee?.id ?? null,
      };
      store.state.primaryIps.push(ip);
      const action = assignee
        ? renderAction(
            recordAction(store, "assign_primary_ip", [
              { id: ip.id, type: "primary_ip" },
              { id: assignee.id, type: "server" },
            ]),
          )
        : null;
      return { status: 201, body: { primary_ip: renderPrimaryIp(ip), action } };
    },
  },
  {
    method: "GET",
    pattern: "/primary_ips/:id",
    handler: (context) => ({ status: 200, body: { primary_ip: renderPrimaryIp(findIp(context)) } }),
  },
  {
    method: "PUT",
    pattern: "/primary_ips/:id",
    handler: (context) => {
      const ip = findIp(context);
      const name = optionalString(context.body, "name");
      const labels = context.body.labels === undefined ? undefined : readLabels(context.body.labels);
      const autoDelete = optionalBoolean(context.body, "auto_delete");
      if (name) assertNameFree(context, name, ip.id);
      if (name) ip.name = name;
      if (labels !== undefined) ip.labels = labels;
      if (autoDelete !== undefined) ip.autoDelete = autoDelete;
      return { status: 200, body: { primary_ip: renderPrimaryIp(ip) } };
    },
  },
  {
    method: "DELETE",
    pattern: "/primary_ips/:id",
    handler: (context) => {
      const ip = findIp(context);
      if (ip.deleteProtection) throw protectedResource("primary IP", ip.id);
      if (ip.assigneeId !== null) {
        throw new ApiError(
          422,
          "must_be_unassigned",
          `primary IP ${ip.id} is assigned to server ${ip.assigneeId}; unassign it first`,
        );
      }
      context.store.state.primaryIps = context.store.state.primaryIps.filter((candidate) => candidate !== ip);
      return { status: 204 };
    },
  },
  {
    method: "POST",
    pattern: "/primary_ips/:id/actions/assign",
    handler: (context) => {
      const ip = findIp(context);
      readAssigneeType(context);
      const assigneeId = optionalId(context.body, "assignee_id");
      if (assigneeId === undefined) throw invalidInput("assignee_id", "is required");
      const server = stoppedServer(context, assigneeId);
      assertAssignable(context.store.state, ip, server);
      ip.assigneeId = server.id;
      const action = recordAction(context.store, "assign_primary_ip", [
        { id: ip.id, type: "primary_ip" },
        { id: server.id, type: "server" },
      ]);
      return { status: 201, body: { action: renderAction(action) } };
    },
  },
  {
    method: "POST",
    pattern: "/primary_ips/:id/actions/unassign",
    handler: (context) => {
      const ip = findIp(context);
      const targets: ActionTarget[] = [{ id: ip.id, type: "primary_ip" }];
      // Unassigning an unassigned IP is a no-op rather than an error: the real answer is unknown.
      if (ip.assigneeId !== null) {
        const server = requireServer(context.store.state, ip.assigneeId);
        if (server.status !== "off") throw serverNotStopped(server.id);
        ip.assigneeId = null;
        targets.push({ id: server.id, type: "server" });
      }
      const action = recordAction(context.store, "unassign_primary_ip", targets);
      return { status: 201, body: { action: renderAction(action) } };
    },
  },
  {
    method: "POST",
    pattern: "/primary_ips/:id/actions/change_protection",
    handler: (context) => {
      const ip = findIp(context);
      const protect = optionalBoolean(context.body, "delete");
      if (protect === undefined) throw invalidInput("delete", "is required");
      ip.deleteProtection = protect;
      const action = recordAction(context.store, "change_protection", [{ id: ip.id, type: "primary_ip" }]);
      return { status: 201, body: { action: renderAction(action) } };
    },
  },
];
