import { ApiError, notFound } from "./errors";
import {
  CertificateRecord,
  EmulatorState,
  FirewallRecord,
  LoadBalancerRecord,
  NetworkRecord,
  PrimaryIpRecord,
  ServerRecord,
  VolumeRecord,
} from "./state";

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

export function requireNetwork(state: EmulatorState, id: number): NetworkRecord {
  const network = state.networks.find((candidate) => candidate.id === id);
  if (!network) throw notFound("network", id);
  return network;
}

export function requireLoadBalancer(state: EmulatorState, id: number): LoadBalancerRecord {
  const lb = state.loadBalancers.find((candidate) => candidate.id === id);
  if (!lb) throw notFound("load balancer", id);
  return lb;
}

export function requireCertificate(state: EmulatorState, id: number): CertificateRecord {
  const certificate = state.certificates.find((candidate) => candidate.id === id);
  if (!certificate) throw notFound("certificate", id);
  return certificate;
}

/** The network a load balancer is attached to, and its address there (it is in at most one). */
export function networkOfLoadBalancer(
  state: EmulatorState,
  lb: LoadBalancerRecord,
): { network: NetworkRecord; ip: string } | undefined {
  for (const network of state.networks) {
    const attachment = network.attachments.find((a) => a.kind === "load_balancer" && a.id === lb.id);
    if (attachment) return { network, ip: attachment.ip };
  }
  return undefined;
}

export function requireVolume(state: EmulatorState, id: number): VolumeRecord {
  const volume = state.volumes.find((candidate) => candidate.id === id);
  if (!volume) throw notFound("volume", id);
  return volume;
}
