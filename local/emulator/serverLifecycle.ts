import { recordAction, timestamp } from "./actions";
import { findAnyServerType, findImageById } from "./catalog";
import { HostBackend, HostSpec } from "./hostBackend";
import { firstHostAddress } from "./ipv6";
import { assertAssignable } from "./lookups";
import { ServerCreateRequest } from "./serverCreateRequest";
import { ActionRecord, EmulatorState, PrimaryIpRecord, ServerRecord } from "./state";
import { StateStore } from "./store";
import { detachServerVolumes } from "./volumeLifecycle";

function hostSpecOf(server: ServerRecord, state: EmulatorState): HostSpec {
  const ip = state.primaryIps.find((candidate) => candidate.assigneeId === server.id);
  if (!ip) throw new Error(`server ${server.id} has no IPv6 primary IP to put its host on`);
  // Withdrawn types too: a server keeps its type, and its host its architecture, after sales stop.
  const type = findAnyServerType(server.serverTypeName, state.deprecationMarks);
  if (!type) {
    throw new Error(`server ${server.id} has server type ${server.serverTypeName}, unknown to the catalog`);
  }
  const image = findImageById(server.imageId);
  if (!image) throw new Error(`server ${server.id} has image ${server.imageId}, unknown to the catalog`);
  return {
    id: server.id,
    name: server.name,
    architecture: type.architecture,
    image: image.name,
    address: firstHostAddress(ip.network),
    prefixLength: 64,
    userData: server.userData,
    authorizedKeys: server.authorizedKeys,
  };
}

function failure(error: unknown): NonNullable<ActionRecord["error"]> {
  return { code: "action_failed", message: error instanceof Error ? error.message : String(error) };
}

/** Brings up the host of a recorded server; a failure leaves the server `off` and returns the reason. */
async function startHost(
  store: StateStore,
  hosts: HostBackend,
  server: ServerRecord,
): Promise<ActionRecord["error"]> {
  try {
    await hosts.create(hostSpecOf(server, store.state));
    return null;
  } catch (error) {
    server.status = "off";
    return failure(error);
  }
}

export interface CreatedServer {
  server: ServerRecord;
  action: ActionRecord;
  nextActions: ActionRecord[];
}

/**
 * Records the server (status `initializing`, so concurrent requests see it and its name is taken), then
 * materialises the host before answering. Waiting here rather than returning a `running` action keeps
 * actions immutable and costs the provider no polling (it sleeps ≥ 0.5 s, doubling, before each poll).
 */
export async function createServer(
  store: StateStore,
  hosts: HostBackend,
  request: ServerCreateRequest,
): Promise<CreatedServer> {
  const server: ServerRecord = {
    id: store.nextId("server"),
    name: request.name,
    status: "initializing",
    created: timestamp(),
    serverTypeName: request.serverType.name,
    imageId: request.image.id,
    locationName: request.location.name,
    labels: request.labels,
    deleteProtection: false,
    rebuildProtection: false,
    backupWindow: null,
    primaryDiskSize: request.serverType.disk,
    userData: request.userData,
    authorizedKeys: request.sshKeys.map((key) => key.publicKey),
  };
  const ip = request.ipv6 ?? autoDeletePrimaryIp(store, server);
  assertAssignable(store.state, ip, server);
  if (!request.ipv6) store.state.primaryIps.push(ip);
  ip.assigneeId = server.id;
  for (const firewall of request.firewalls) {
    const direct = firewall.appliedTo.some(
      (target) => target.type === "server" && target.serverId === server.id,
    );
    if (!direct) firewall.appliedTo.push({ type: "server", serverId: server.id });
  }
  store.state.servers.push(server);
  store.save();

  const error = await startHost(store, hosts, server);
  const target = [{ id: server.id, type: "server" as const }];
  const action = recordAction(store, "create_server", target, error);
  if (error) return { server, action, nextActions: [] };
  server.status = request.startAfterCreate ? "running" : "off";
  const nextActions = request.startAfterCreate ? [recordAction(store, "start_server", target)] : [];
  return { server, action, nextActions };
}

/** What the real API does when `enable_ipv6` comes without a primary IP ID (its naming is a guess). */
function autoDeletePrimaryIp(store: StateStore, server: ServerRecord): PrimaryIpRecord {
  const id = store.nextId("primaryIp");
  return {
    id,
    name: `primary_ip-${id}`,
    type: "ipv6",
    network: store.allocateIpv6Network(),
    locationName: server.locationName,
    labels: {},
    created: server.created,
    autoDelete: true,
    deleteProtection: false,
    assigneeId: null,
  };
}

/**
 * Removes the server and undoes its cross-references the way the real API does (auto-delete primary IPs
 * go, others are unassigned; firewalls, networks and load balancers let go of it; its volumes are
 * detached and stay), then stops the host. The provider does not tolerate a 404 on this DELETE, so the
 * record is gone before the volumes' detach and the host stop are awaited.
 */
export async function deleteServer(
  store: StateStore,
  hosts: HostBackend,
  server: ServerRecord,
): Promise<ActionRecord> {
  const { state } = store;
  state.servers = state.servers.filter((candidate) => candidate !== server);
  state.primaryIps = state.primaryIps.filter((ip) => !(ip.assigneeId === server.id && ip.autoDelete));
  for (const ip of state.primaryIps) if (ip.assigneeId === server.id) ip.assigneeId = null;
  for (const firewall of state.firewalls) {
    firewall.appliedTo = firewall.appliedTo.filter(
      (target) => !(target.type === "server" && target.serverId === server.id),
    );
  }
  // Its network attachments and load balancer targets go with it (the provider tolerates either).
  for (const network of state.networks) {
    network.attachments = network.attachments.filter((a) => !(a.kind === "server" && a.id === server.id));
  }
  for (const lb of state.loadBalancers) lb.targets = lb.targets.filter((t) => t.serverId !== server.id);
  const detached = detachServerVolumes(store, hosts, server);
  store.save();
  const target = [{ id: server.id, type: "server" as const }];
  try {
    await detached;
    await hosts.delete(server.id);
    return recordAction(store, "delete_server", target);
  } catch (error) {
    return recordAction(store, "delete_server", target, failure(error));
  }
}

/**
 * After a restart the hosts are gone (shutdown stops them), so every server gets its host again from
 * the stored cloud-init, as on create. Failures mark the server `off` and are logged, not thrown.
 */
export async function restoreHosts(
  store: StateStore,
  hosts: HostBackend,
  log: (line: string) => void,
): Promise<void> {
  await Promise.all(
    store.state.servers.map(async (server) => {
      const error = await startHost(store, hosts, server);
      if (error) log(`restoring the host of server ${server.id} (${server.name}) failed: ${error.message}`);
      // A server caught mid-create by a crash has its host now.
      else if (server.status === "initializing") server.status = "running";
    }),
  );
  store.save();
}
