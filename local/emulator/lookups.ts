import { ApiError, notFound } from "./errors";
import { EmulatorState, FirewallRecord, PrimaryIpRecord, ServerRecord } from "./state";

export function requireServer(state: EmulatorState, id: number): ServerRecord {
  const server = state.servers.find((candidate) => candidate.id === id);
  if (!server) throw notFound("server", id);
  return server;
}

export function requirePrimaryIp(state: EmulatorState, id: number): PrimaryIpRecord {
  const ip = state.primaryIps.find((candidate) => candidate.id === id);
  if (!ip) throw notFound("primary IP", id);
  return ip;
}

export function requireFirewall(state: EmulatorState, id: number): FirewallRecord {
  const firewall = state.firewalls.find((candidate) => candidate.id === id);
  if (!firewall) throw notFound("firewall", id);
  return firewall;
}

/** The checks the real API makes before a primary IP goes onto a server (power state is the caller's). */
export function assertAssignable(state: EmulatorState, ip: PrimaryIpRecord, server: ServerRecord): void {
  if (ip.assigneeId !== null) {
    throw new ApiError(
      422,
      "primary_ip_assigned",
      `primary IP ${ip.id} is already assigned to server ${ip.assigneeId}`,
    );
  }
  if (ip.locationName !== server.locationName) {
    throw new ApiError(
      422,
      "primary_ip_datacenter_mismatch",
      `primary IP ${ip.id} is in ${ip.locationName}, server ${server.id} in ${server.locationName}`,
    );
  }
  assertHasNoIpv6(state, server);
}

export function assertHasNoIpv6(state: EmulatorState, server: ServerRecord): void {
  if (state.primaryIps.some((ip) => ip.assigneeId === server.id)) {
    throw new ApiError(422, "server_has_ipv6", `server ${server.id} already has an IPv6 primary IP`);
  }
}
