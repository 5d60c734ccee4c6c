import * as crypto from "crypto";
import { renderAction } from "../actions";
import { optionalString } from "../body";
import { ApiError, invalidInput, protectedResource, uniquenessError } from "../errors";
import { readLabels } from "../labels";
import { listBody } from "../listing";
import { requireServer } from "../lookups";
import { renderServer } from "../render";
import { RequestContext, Route, idParam } from "../router";
import { isValidHostname, readServerCreateRequest } from "../serverCreateRequest";
import { createServer, deleteServer } from "../serverLifecycle";
import { ServerRecord } from "../state";

function findServer(context: RequestContext): ServerRecord {
  return requireServer(context.store.state, idParam(context));
}

function serverBody(context: RequestContext, server: ServerRecord): { server: Record<string, unknown> } {
  return { server: renderServer(server, context.store.state) };
}

export const serverRoutes: Route[] = [
  {
    method: "GET",
    pattern: "/servers",
    handler: ({ store, query }) => {
      const statuses = query.getAll("status");
      const servers = store.state.servers.filter(
        (server) => statuses.length === 0 || statuses.includes(server.status),
      );
      return {
        status: 200,
        body: listBody(
          "servers",
          servers.map((server) => renderServer(server, store.state)),
          query,
        ),
      };
    },
  },
  {
    method: "POST",
    pattern: "/servers",
    handler: async (context) => {
      const request = readServerCreateRequest(context.store.state, context.body);
      const { server, action, nextActions } = await createServer(context.store, context.hosts, request);
      return {
        status: 201,
        body: {
          ...serverBody(context, server),
          action: renderAction(action),
          next_actions: nextActions.map(renderAction),
          // The real API only mails out a root password when no SSH key was given.
          root_password: request.sshKeys.length > 0 ? null : crypto.randomBytes(12).toString("base64url"),
        },
      };
    },
  },
  {
    method: "GET",
    pattern: "/servers/:id",
    handler: (context) => ({ status: 200, body: serverBody(context, findServer(context)) }),
  },
  {
    method: "PUT",
    pattern: "/servers/:id",
    handler: (context) => {
      const server = findServer(context);
      const name = optionalString(context.body, "name");
      const labels = context.body.labels === undefined ? undefined : readLabels(context.body.labels);
      if (name !== undefined) {
        if (!isValidHostname(name)) throw invalidInput("name", "must be a valid hostname (RFC 1123)");
        if (context.store.state.servers.some((other) => other.name === name && other !== server)) {
          throw uniquenessError("name", `server with the name "${name}" already exists`);
        }
        server.name = name;
      }
      if (labels !== undefined) server.labels = labels;
      return { status: 200, body: serverBody(context, server) };
    },
  },
  {
    method: "DELETE",
    pattern: "/servers/:id",
    handler: async (context) => {
      const server = findServer(context);
      if (server.deleteProtection) throw protectedResource("server", server.id);
      if (server.status === "initializing") {
        throw new ApiError(423, "locked", `server ${server.id} is still being created`);
      }
      const action = await deleteServer(context.store, context.hosts, server);
      // Networks and load balancers it was part of forget it.
      await context.cloud.sync();
      return { status: 200, body: { action: renderAction(action) } };
    },
  },
];
