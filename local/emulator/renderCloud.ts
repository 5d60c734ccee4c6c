import { findLocation, renderLocation } from "./catalog";
import { LoadBalancerHealth } from "./cloudBackend";
import { firstHostAddress } from "./ipv6";
import { findLoadBalancerType, renderLoadBalancerType } from "./loadBalancerTypes";
import { networkOfLoadBalancer } from "./lookups";
import { gatewayOf } from "./privateIps";
import { CertificateRecord, EmulatorState, LoadBalancerRecord, NetworkRecord, ServerRecord } from "./state";

/** Networks, load balancers and certificates → API JSON, with the reverse references derived. */

type Json = Record<string, unknown>;

export function renderNetwork(network: NetworkRecord): Json {
  const ids = (kind: string) => network.attachments.filter((a) => a.kind === kind).map((a) => a.id);
  return {
    id: network.id,
    name: network.name,
    created: network.created,
    ip_range: network.ipRange,
    subnets: network.subnets.map((subnet) => ({
      type: subnet.type,
      ip_range: subnet.ipRange,
      network_zone: subnet.networkZone,
      gateway: gatewayOf(network),
    })),
    routes: [],
    servers: ids("server"),
    load_balancers: ids("load_balancer"),
    protection: { delete: network.deleteProtection },
    labels: network.labels,
    expose_routes_to_vswitch: network.exposeRoutesToVswitch,
  };
}

/** A stable, locally administered MAC per attachment, as a server's private_net reports it. */
function macAddress(networkId: number, serverId: number): string {
  const bytes = [
    0x86,
    0x00,
    (networkId >> 8) & 0xff,
    networkId & 0xff,
    (serverId >> 8) & 0xff,
    serverId & 0xff,
  ];
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join(":");
}

/** A server's `private_net`: one entry per network it is attached to. */
export function serverPrivateNet(server: ServerRecord, state: EmulatorState): Json[] {
  return state.networks.flatMap((network) =>
    network.attachments
      .filter((a) => a.kind === "server" && a.id === server.id)
      .map((a) => ({
        network: network.id,
        ip: a.ip,
        alias_ips: [],
        mac_address: macAddress(network.id, a.id),
      })),
  );
}

/** IDs of the load balancers that have the server as a target. */
export function serverLoadBalancers(server: ServerRecord, state: EmulatorState): number[] {
  return state.loadBalancers
    .filter((lb) => lb.targets.some((t) => t.serverId === server.id))
    .map((lb) => lb.id);
}

/**
 * `health` is what the backend's health checks report now; a target the backend does not know yet
 * is `unknown`, as on the real API right after it was added.
 */
export function renderLoadBalancer(
  lb: LoadBalancerRecord,
  state: EmulatorState,
  health: LoadBalancerHealth,
): Json {
  const location = findLocation(lb.locationName);
  const type = findLoadBalancerType(lb.typeName);
  if (!location || !type) throw new Error(`load balancer ${lb.id} refers to an unknown location or type`);
  const joined = networkOfLoadBalancer(state, lb);
  return {
    id: lb.id,
    name: lb.name,
    public_net: {
      enabled: lb.publicInterface,
      // dns_ptr are strings here, unlike a server's list: an array fails the provider's decoding.
      ipv4: { ip: lb.ipv4, dns_ptr: null },
      ipv6: { ip: firstHostAddress(lb.ipv6Network), dns_ptr: null },
    },
    private_net: joined ? [{ network: joined.network.id, ip: joined.ip }] : [],
    location: renderLocation(location),
    load_balancer_type: renderLoadBalancerType(type),
    protection: { delete: lb.deleteProtection },
    labels: lb.labels,
    created: lb.created,
    algorithm: { type: lb.algorithm },
    services: lb.services,
    // Every server target carries server.id: the provider dereferences it without a check.
    targets: lb.targets.map((target) => ({
      type: "server",
      server: { id: target.serverId },
      use_private_ip: target.usePrivateIp,
      health_status: lb.services.map((service) => ({
        listen_port: service.listen_port,
        status: health[service.listen_port]?.[target.serverId] ?? "unknown",
      })),
    })),
    outgoing_traffic: null,
    ingoing_traffic: null,
    included_traffic: 21990232555520,
  };
}

export function renderCertificate(certificate: CertificateRecord, state: EmulatorState): Json {
  const usedBy = state.loadBalancers.filter((lb) =>
    lb.services.some((service) => service.http?.certificates.includes(certificate.id)),
  );
  return {
    id: certificate.id,
    name: certificate.name,
    labels: certificate.labels,
    type: certificate.type,
    certificate: certificate.certificate,
    created: certificate.created,
    not_valid_before: certificate.notValidBefore,
    not_valid_after: certificate.notValidAfter,
    domain_names: certificate.domainNames,
    fingerprint: certificate.fingerprint,
    // Managed certificates are issued at once here (self-signed); the provider does not read status.
    status:
      certificate.type === "managed" ? { issuance: "completed", renewal: "unavailable", error: null } : null,
    used_by: usedBy.map((lb) => ({ id: lb.id, type: "load_balancer" })),
  };
}
