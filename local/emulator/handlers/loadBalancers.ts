import { renderAction, syncedAction, timestamp } from "../actions";
import { Body, optionalObject, optionalReference, optionalString, requiredString } from "../body";
import { findLocation, LOCATIONS } from "../catalog";
import { invalidInput, protectedResource, uniquenessError, unsupported } from "../errors";
import { readLabels } from "../labels";
import { listBody } from "../listing";
import { findLoadBalancerType } from "../loadBalancerTypes";
import { requireLoadBalancer } from "../lookups";
import { renderLoadBalancer } from "../renderCloud";
import { RequestContext, Route, idParam } from "../router";
import { LoadBalancerRecord } from "../state";

export const ALGORITHMS = ["round_robin", "least_connections"] as const;

export function findLb(context: RequestContext): LoadBalancerRecord {
  return requireLoadBalancer(context.store.state, idParam(context));
}

/** Rendered with what the health checks say right now. */
export async function lbJson(
  context: RequestContext,
  lb: LoadBalancerRecord,
): Promise<Record<string, unknown>> {
  return renderLoadBalancer(lb, context.store.state, await context.cloud.health(lb.id));
}

function assertNameFree(context: RequestContext, name: string, exceptId?: number): void {
  if (context.store.state.loadBalancers.some((lb) => lb.name === name && lb.id !== exceptId)) {
    throw uniquenessError("name", `load balancer with the name "${name}" already exists`);
  }
}

export function readAlgorithm(body: Body | undefined, fallback: LoadBalancerRecord["algorithm"]) {
  const type = body ? (optionalString(body, "type") ?? fallback) : fallback;
  if (!(ALGORITHMS as readonly string[]).includes(type)) {
    throw invalidInput("algorithm.type", `must be one of ${ALGORITHMS.join(", ")}`);
  }
  return type as LoadBalancerRecord["algorithm"];
}

function readLocationName(body: Body): string {
  const ref = optionalReference(body, "location");
  if (ref !== undefined) {
    const location = findLocation(ref);
    if (!location) throw invalidInput("location", `unknown location ${JSON.stringify(ref)}`);
    return location.name;
  }
  const zone = optionalString(body, "network_zone");
  const inZone = LOCATIONS.find((location) => location.network_zone === zone);
  if (!inZone) throw invalidInput("location", "location or a known network_zone is required");
  return inZone.name;
}

/** The provider never sends services, targets or network on create; the emulator does not take them. */
const UNSUPPORTED_ON_CREATE = ["services", "targets", "network"];

export const loadBalancerRoutes: Route[] = [
  {
    method: "GET",
    pattern: "/load_balancers",
    handler: async (context) => {
      const items = await Promise.all(context.store.state.loadBalancers.map((lb) => lbJson(context, lb)));
      return { status: 200, body: listBody("load_balancers", items, context.query) };
    },
  },
  {
    method: "POST",
    pattern: "/load_balancers",
    handler: async (context) => {
      const { body, store } = context;
      const field = UNSUPPORTED_ON_CREATE.find((f) => body[f] !== undefined && body[f] !== null);
      if (field) throw unsupported(`the emulator does not take "${field}" on create; add them with actions`);
      const name = requiredString(body, "name");
      assertNameFree(context, name);
      const typeRef = optionalReference(body, "load_balancer_type");
      const type = findLoadBalancerType(typeRef);
      if (!type)
        throw invalidInput(
          "load_balancer_type",
          `load balancer type ${JSON.stringify(typeRef)} does not exist`,
        );
      const locationName = readLocationName(body);
      const algorithm = readAlgorithm(optionalObject(body, "algorithm"), "round_robin");
      const labels = readLabels(body.labels);
      const id = store.nextId("loadBalancer");
      const lb: LoadBalancerRecord = {
        id,
        name,
        typeName: type.name,
        locationName,
        labels,
        created: timestamp(),
        deleteProtection: false,
        algorithm,
        // TEST-NET-3: the provider needs a parsable IPv4; nothing is ever sent to it.
        ipv4: `203.0.113.${(id % 254) + 1}`,
        ipv6Network: store.allocateIpv6Network(),
        publicInterface: body.public_interface !== false,
        services: [],
        targets: [],
      };
      store.state.loadBalancers.push(lb);
      store.save();
      const action = await syncedAction(context, "create_load_balancer", [{ id, type: "load_balancer" }]);
      return {
        status: 201,
        body: { load_balancer: await lbJson(context, lb), action: renderAction(action) },
      };
    },
  },
  {
    method: "GET",
    pattern: "/load_balancers/:id",
    handler: async (context) => ({
      status: 200,
      body: { load_balancer: await lbJson(context, findLb(context)) },
    }),
  },
  {
    method: "PUT",
    pattern: "/load_balancers/:id",
    handler: async (context) => {
      const lb = findLb(context);
      const name = optionalString(context.body, "name");
      if (name !== undefined) {
        if (name === "") throw invalidInput("name", "must not be empty");
        assertNameFree(context, name, lb.id);
        lb.name = name;
      }
      if (context.body.labels !== undefined) lb.labels = readLabels(context.body.labels);
      return { status: 200, body: { load_balancer: await lbJson(context, lb) } };
    },
  },
  {
    method: "DELETE",
    pattern: "/load_balancers/:id",
    handler: async (context) => {
      const lb = findLb(context);
      if (lb.deleteProtection) throw protectedResource("load balancer", lb.id);
      const { state } = context.store;
      // Services and targets are part of the load balancer; its network attachment goes with it.
      state.loadBalancers = state.loadBalancers.filter((candidate) => candidate !== lb);
      for (const network of state.networks) {
        network.attachments = network.attachments.filter(
          (a) => !(a.kind === "load_balancer" && a.id === lb.id),
        );
      }
      context.store.save();
      await context.cloud.sync();
      return { status: 204 };
    },
  },
];
