import { renderAction, syncedAction, timestamp } from "../actions";
import { Body, optionalArray, optionalBoolean, optionalString, requiredString } from "../body";
import { LOCATIONS } from "../catalog";
import { ApiError, invalidInput, protectedResource, uniquenessError, unsupported } from "../errors";
import { readLabels } from "../labels";
import { listBody } from "../listing";
import { requireNetwork } from "../lookups";
import { addressIn, parseIpv4Range, rangeContains, rangesOverlap } from "../privateIps";
import { renderNetwork } from "../renderCloud";
import { RequestContext, Route, idParam } from "../router";
import { NetworkRecord, SubnetRecord } from "../state";

const PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"].map((r) => parseIpv4Range(r)!);
const NETWORK_ZONES = [...new Set(LOCATIONS.map((location) => location.network_zone))];

function findNetwork(context: RequestContext): NetworkRecord {
  return requireNetwork(context.store.state, idParam(context));
}

function networkBody(network: NetworkRecord): { network: Record<string, unknown> } {
  return { network: renderNetwork(network) };
}

function assertNameFree(context: RequestContext, name: string, exceptId?: number): void {
  if (context.store.state.networks.some((n) => n.name === name && n.id !== exceptId)) {
    throw uniquenessError("name", `network with the name "${name}" already exists`);
  }
}

/** The API's rule: an RFC 1918 range of at least /24. */
function readNetworkRange(body: Body): string {
  const text = requiredString(body, "ip_range");
  const range = parseIpv4Range(text);
  if (!range || !PRIVATE_RANGES.some((r) => rangeContains(r, range)) || range.prefix > 24) {
    throw invalidInput("ip_range", `${text} is not a private IPv4 network (RFC 1918) of at least /24`);
  }
  return text;
}

function readSubnet(network: NetworkRecord, body: Body, field = "subnet"): SubnetRecord {
  const type = requiredString(body, "type");
  if (type === "vswitch") throw unsupported("the emulator has no vSwitches; use a cloud subnet");
  if (type !== "cloud" && type !== "server")
    throw invalidInput("type", `"${type}" is not cloud, server or vswitch`);
  const networkZone = requiredString(body, "network_zone");
  if (!NETWORK_ZONES.includes(networkZone)) {
    throw invalidInput("network_zone", `"${networkZone}" is not one of ${NETWORK_ZONES.join(", ")}`);
  }
  const ipRange = requiredString(body, "ip_range");
  const range = parseIpv4Range(ipRange);
  if (!range || !rangeContains(parseIpv4Range(network.ipRange)!, range)) {
    throw invalidInput("ip_range", `${ipRange} is not a range inside the network's ${network.ipRange}`);
  }
  const clash = network.subnets.find((s) => rangesOverlap(parseIpv4Range(s.ipRange)!, range));
  if (clash) throw invalidInput(field, `${ipRange} overlaps subnet ${clash.ipRange}`);
  return { type, ipRange, networkZone };
}

export const networkRoutes: Route[] = [
  {
    method: "GET",
    pattern: "/networks",
    handler: ({ store, query }) => ({
      status: 200,
      body: listBody("networks", store.state.networks.map(renderNetwork), query),
    }),
  },
  {
    method: "POST",
    pattern: "/networks",
    handler: (context) => {
      const { body, store } = context;
      const name = requiredString(body, "name");
      assertNameFree(context, name);
      if (optionalArray(body, "routes").length > 0)
        throw unsupported("the emulator does not model network routes");
      const network: NetworkRecord = {
        id: 0,
        name,
        ipRange: readNetworkRange(body),
        labels: readLabels(body.labels),
        created: timestamp(),
        deleteProtection: false,
        exposeRoutesToVswitch: optionalBoolean(body, "expose_routes_to_vswitch") ?? false,
        subnets: [],
        attachments: [],
      };
      for (const subnet of optionalArray(body, "subnets")) {
        network.subnets.push(readSubnet(network, (subnet ?? {}) as Body, "subnets"));
      }
      network.id = store.nextId("network");
      store.state.networks.push(network);
      return { status: 201, body: networkBody(network) };
    },
  },
  {
    method: "GET",
    pattern: "/networks/:id",
    handler: (context) => ({ status: 200, body: networkBody(findNetwork(context)) }),
  },
  {
    method: "PUT",
    pattern: "/networks/:id",
    handler: (context) => {
      const network = findNetwork(context);
      const name = optionalString(context.body, "name");
      if (name !== undefined) {
        if (name === "") throw invalidInput("name", "must not be empty");
        assertNameFree(context, name, network.id);
        network.name = name;
      }
      if (context.body.labels !== undefined) network.labels = readLabels(context.body.labels);
      const expose = optionalBoolean(context.body, "expose_routes_to_vswitch");
      if (expose !== undefined) network.exposeRoutesToVswitch = expose;
      return { status: 200, body: networkBody(network) };
    },
  },
  {
    method: "DELETE",
    pattern: "/networks/:id",
    handler: async (context) => {
      const network = findNetwork(context);
      if (network.deleteProtection) throw protectedResource("network", network.id);
      // The real API detaches what is still attached "in the background".
      context.store.state.networks = context.store.state.networks.filter((n) => n !== network);
      context.store.save();
      await context.cloud.sync();
      return { status: 204 };
    },
  },
  {
    method: "POST",
    pattern: "/networks/:id/actions/add_subnet",
    handler: async (context) => {
      const network = findNetwork(context);
      network.subnets.push(readSubnet(network, context.body));
      const action = await syncedAction(context, "add_subnet", [{ id: network.id, type: "network" }]);
      return { status: 201, body: { action: renderAction(action) } };
    },
  },
  {
    method: "POST",
    pattern: "/networks/:id/actions/delete_subnet",
    handler: async (context) => {
      const network = findNetwork(context);
      const ipRange = requiredString(context.body, "ip_range");
      const subnet = network.subnets.find((s) => s.ipRange === ipRange);
      if (!subnet) throw new ApiError(404, "not_found", `network ${network.id} has no subnet ${ipRange}`);
      const range = parseIpv4Range(ipRange)!;
      if (network.attachments.some((a) => addressIn(range, a.ip))) {
        throw new ApiError(
          422,
          "service_error",
          `servers are attached to subnet ${ipRange}; detach them first`,
        );
      }
      network.subnets = network.subnets.filter((s) => s !== subnet);
      const action = await syncedAction(context, "delete_subnet", [{ id: network.id, type: "network" }]);
      return { status: 201, body: { action: renderAction(action) } };
    },
  },
  {
    method: "POST",
    pattern: "/networks/:id/actions/change_protection",
    handler: async (context) => {
      const network = findNetwork(context);
      network.deleteProtection = optionalBoolean(context.body, "delete") ?? network.deleteProtection;
      const action = await syncedAction(context, "change_protection", [{ id: network.id, type: "network" }]);
      return { status: 201, body: { action: renderAction(action) } };
    },
  },
];
