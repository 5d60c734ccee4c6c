import { renderAction, syncedAction } from "../actions";
import { Body, optionalBoolean, optionalObject, optionalReference, requiredString } from "../body";
import { ApiError, invalidInput, unsupported } from "../errors";
import { assertPortsFree, readService } from "../lbServices";
import { findLoadBalancerType } from "../loadBalancerTypes";
import { networkOfLoadBalancer } from "../lookups";
import { RequestContext, Route } from "../router";
import { LoadBalancerRecord } from "../state";
import { findLb, readAlgorithm } from "./loadBalancers";

/** `POST /load_balancers/{id}/actions/<name>`: services, targets, type, algorithm, protection, interface. */

type Effect = (lb: LoadBalancerRecord, context: RequestContext) => void;

function lbAction(name: string, command: string, effect: Effect): Route {
  return {
    method: "POST",
    pattern: `/load_balancers/:id/actions/${name}`,
    handler: async (context) => {
      const lb = findLb(context);
      effect(lb, context);
      const action = await syncedAction(context, command, [{ id: lb.id, type: "load_balancer" }]);
      return { status: 201, body: { action: renderAction(action) } };
    },
  };
}

function listenPortOf(body: Body): number {
  const port = body.listen_port;
  if (typeof port !== "number" || !Number.isInteger(port)) throw invalidInput("listen_port", "is required");
  return port;
}

function serviceIndex(lb: LoadBalancerRecord, port: number): number {
  const index = lb.services.findIndex((service) => service.listen_port === port);
  if (index < 0)
    throw new ApiError(404, "not_found", `load balancer ${lb.id} has no service on port ${port}`);
  return index;
}

const addService: Effect = (lb, { body, store }) => {
  const service = readService(body, store.state);
  assertPortsFree([...lb.services, service], 412);
  const max = findLoadBalancerType(lb.typeName)?.maxServices ?? 0;
  if (lb.services.length >= max) {
    throw new ApiError(422, "resource_limit_exceeded", `a ${lb.typeName} has at most ${max} services`);
  }
  lb.services.push(service);
};

const updateService: Effect = (lb, { body, store }) => {
  const index = serviceIndex(lb, listenPortOf(body));
  const updated = readService(body, store.state, lb.services[index]);
  const services = lb.services.map((service, i) => (i === index ? updated : service));
  assertPortsFree(services, 422);
  lb.services = services;
};

const deleteService: Effect = (lb, { body }) => {
  const index = serviceIndex(lb, listenPortOf(body));
  lb.services = lb.services.filter((_, i) => i !== index);
};

function targetServerId(body: Body): number {
  const type = requiredString(body, "type");
  if (type !== "server") throw unsupported(`the emulator takes server targets only, not "${type}"`);
  const id = optionalObject(body, "server")?.id;
  if (typeof id !== "number") throw invalidInput("server.id", "is required");
  return id;
}

/**
 * Hetzner load balancers reach targets over public IPv4 or a private network, never IPv6; every
 * emulated server is IPv6-only, so a target must use its private IP in the load balancer's network.
 */
const addTarget: Effect = (lb, { body, store }) => {
  const serverId = targetServerId(body);
  const server = store.state.servers.find((candidate) => candidate.id === serverId);
  if (!server) throw invalidInput("server.id", `server with ID ${serverId} not found`);
  if (lb.targets.some((target) => target.serverId === serverId)) {
    throw new ApiError(422, "target_already_defined", `server ${serverId} is already a target`);
  }
  if (optionalBoolean(body, "use_private_ip") !== true) {
    throw new ApiError(
      422,
      "resolve_cloud_public_targets_error",
      `the server that you are trying to add as a public target does not have a public IPv4 address (server ${serverId})`,
    );
  }
  const joined = networkOfLoadBalancer(store.state, lb);
  if (!joined) {
    throw new ApiError(
      422,
      "load_balancer_not_attached_to_network",
      `load balancer ${lb.id} is in no network`,
    );
  }
  if (!joined.network.attachments.some((a) => a.kind === "server" && a.id === serverId)) {
    throw new ApiError(
      422,
      "resolve_cloud_private_targets_error",
      `server ${serverId} is not attached to network ${joined.network.id} of load balancer ${lb.id}`,
    );
  }
  const max = findLoadBalancerType(lb.typeName)?.maxTargets ?? 0;
  if (lb.targets.length >= max) {
    throw new ApiError(422, "resource_limit_exceeded", `a ${lb.typeName} has at most ${max} targets`);
  }
  lb.targets.push({ type: "server", serverId, usePrivateIp: true });
};

const removeTarget: Effect = (lb, { body }) => {
  const serverId = targetServerId(body);
  if (!lb.targets.some((target) => target.serverId === serverId)) {
    throw new ApiError(404, "load_balancer_target_not_found", `target not found: server ${serverId}`);
  }
  lb.targets = lb.targets.filter((target) => target.serverId !== serverId);
};

const changeType: Effect = (lb, { body }) => {
  const ref = optionalReference(body, "load_balancer_type");
  const type = findLoadBalancerType(ref);
  if (!type)
    throw new ApiError(
      422,
      "invalid_load_balancer_type",
      `load balancer type ${JSON.stringify(ref)} does not exist`,
    );
  if (lb.services.length > type.maxServices || lb.targets.length > type.maxTargets) {
    throw new ApiError(
      422,
      "invalid_load_balancer_type",
      `${type.name} is too small for load balancer ${lb.id}`,
    );
  }
  lb.typeName = type.name;
};

const disablePublicInterface: Effect = (lb, { store }) => {
  if (!networkOfLoadBalancer(store.state, lb)) {
    throw new ApiError(
      422,
      "load_balancer_not_attached_to_network",
      `load balancer ${lb.id} is in no network`,
    );
  }
  lb.publicInterface = false;
};

export const loadBalancerActionRoutes: Route[] = [
  lbAction("add_service", "add_service", addService),
  lbAction("update_service", "update_service", updateService),
  lbAction("delete_service", "delete_service", deleteService),
  lbAction("add_target", "add_target", addTarget),
  lbAction("remove_target", "remove_target", removeTarget),
  lbAction("change_type", "change_load_balancer_type", changeType),
  lbAction(
    "change_algorithm",
    "change_algorithm",
    (lb, { body }) => (lb.algorithm = readAlgorithm(body, lb.algorithm)),
  ),
  lbAction("change_protection", "change_protection", (lb, { body }) => {
    lb.deleteProtection = optionalBoolean(body, "delete") ?? lb.deleteProtection;
  }),
  lbAction("enable_public_interface", "enable_public_interface", (lb) => (lb.publicInterface = true)),
  lbAction("disable_public_interface", "disable_public_interface", disablePublicInterface),
];
