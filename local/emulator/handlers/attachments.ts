import { ActionTarget, renderAction, syncedAction } from "../actions";
import { Body, optionalArray, optionalId, optionalString } from "../body";
import { findLocation } from "../catalog";
import { ApiError, invalidInput, notFound, unsupported } from "../errors";
import { requireLoadBalancer, requireNetwork, requireServer } from "../lookups";
import { allocateIp, chooseSubnet } from "../privateIps";
import { RequestContext, Route, idParam } from "../router";
import { EmulatorState, NetworkAttachment, NetworkRecord } from "../state";

/**
 * `attach_to_network` / `detach_from_network` for servers and load balancers: the network records the
 * attachment with an address from the chosen subnet; the backend then plugs the member in.
 */

interface Member {
  kind: NetworkAttachment["kind"];
  id: number;
  locationName: string;
  target: ActionTarget;
}

function attachedNetworks(state: EmulatorState, member: Member): NetworkRecord[] {
  return state.networks.filter((n) =>
    n.attachments.some((a) => a.kind === member.kind && a.id === member.id),
  );
}

function attach(state: EmulatorState, member: Member, body: Body): NetworkRecord {
  const networkId = optionalId(body, "network");
  if (networkId === undefined) throw invalidInput("network", "is required");
  const network = requireNetwork(state, networkId);
  if (optionalArray(body, "alias_ips").length > 0) throw unsupported("the emulator does not model alias IPs");
  const already = attachedNetworks(state, member);
  if (already.includes(network)) {
    const code = member.kind === "server" ? "server_already_attached" : "load_balancer_already_attached";
    throw new ApiError(422, code, `${member.kind} ${member.id} is already attached to network ${network.id}`);
  }
  if (member.kind === "load_balancer" && already.length > 0) {
    throw unsupported(
      `the emulator attaches a load balancer to one network; ${member.id} is in ${already[0].id}`,
    );
  }
  const ip = optionalString(body, "ip");
  const subnet = chooseSubnet(network, ip, optionalString(body, "ip_range"));
  const zone = findLocation(member.locationName)?.network_zone;
  if (subnet.networkZone !== zone) {
    throw invalidInput(
      "network",
      `subnet ${subnet.ipRange} is in ${subnet.networkZone}, ${member.kind} ${member.id} in ${zone}`,
    );
  }
  network.attachments.push({ kind: member.kind, id: member.id, ip: allocateIp(network, subnet, ip) });
  return network;
}

function detach(state: EmulatorState, member: Member, body: Body): NetworkRecord {
  const networkId = optionalId(body, "network");
  if (networkId === undefined) throw invalidInput("network", "is required");
  const network = requireNetwork(state, networkId);
  const before = network.attachments.length;
  network.attachments = network.attachments.filter((a) => !(a.kind === member.kind && a.id === member.id));
  if (network.attachments.length === before) {
    throw notFound(`attachment of ${member.kind} ${member.id} to network`, network.id);
  }
  return network;
}

function memberRoute(
  collection: "servers" | "load_balancers",
  name: "attach_to_network" | "detach_from_network",
  memberOf: (context: RequestContext) => Member,
): Route {
  return {
    method: "POST",
    pattern: `/${collection}/:id/actions/${name}`,
    handler: async (context) => {
      const member = memberOf(context);
      const change = name === "attach_to_network" ? attach : detach;
      const network = change(context.store.state, member, context.body);
      const action = await syncedAction(context, name, [member.target, { id: network.id, type: "network" }]);
      return { status: 201, body: { action: renderAction(action) } };
    },
  };
}

function serverMember(context: RequestContext): Member {
  const server = requireServer(context.store.state, idParam(context));
  if (server.status === "initializing") {
    throw new ApiError(423, "locked", `server ${server.id} is still being created`);
  }
  return {
    kind: "server",
    id: server.id,
    locationName: server.locationName,
    target: { id: server.id, type: "server" },
  };
}

function loadBalancerMember(context: RequestContext): Member {
  const lb = requireLoadBalancer(context.store.state, idParam(context));
  return {
    kind: "load_balancer",
    id: lb.id,
    locationName: lb.locationName,
    target: { id: lb.id, type: "load_balancer" },
  };
}

export const attachmentRoutes: Route[] = [
  memberRoute("servers", "attach_to_network", serverMember),
  memberRoute("servers", "detach_from_network", serverMember),
  memberRoute("load_balancers", "attach_to_network", loadBalancerMember),
  memberRoute("load_balancers", "detach_from_network", loadBalancerMember),
];
