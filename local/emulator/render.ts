import {
  findImageById,
  findLocation,
  findAnyServerType,
  renderImage,
  renderLocation,
  renderServerType,
} from "./catalog";
import { volumeDiskName } from "./hostBackend";
import { parseLabelSelector } from "./labels";
import { serverLoadBalancers, serverPrivateNet } from "./renderCloud";
import {
  EmulatorState,
  FirewallRecord,
  PrimaryIpRecord,
  ServerRecord,
  SshKeyRecord,
  VolumeRecord,
} from "./state";

/**
 * Records → API JSON. The reverse side of each cross-reference (a server's firewalls and IPv6, a
 * firewall's label-selector matches) is derived here from the side that owns it.
 */

type Json = Record<string, unknown>;

function locationJson(name: string): Json {
  const location = findLocation(name);
  if (!location) throw new Error(`state refers to unknown location "${name}"`);
  return renderLocation(location);
}

export function renderSshKey(key: SshKeyRecord): Json {
  return {
    id: key.id,
    name: key.name,
    fingerprint: key.fingerprint,
    public_key: key.publicKey,
    labels: key.labels,
    created: key.created,
  };
}

export function renderPrimaryIp(ip: PrimaryIpRecord): Json {
  return {
    id: ip.id,
    name: ip.name,
    type: ip.type,
    ip: ip.network,
    dns_ptr: [],
    labels: ip.labels,
    blocked: false,
    created: ip.created,
    protection: { delete: ip.deleteProtection },
    auto_delete: ip.autoDelete,
    // "unassigned" without an assignee, as the API answers since 2026-08-01 (hcloud-go v2.39.0
    // changelog). The provider's assignee_type is optional+computed, so this never drifts against config.
    assignee_type: ip.assigneeId === null ? "unassigned" : "server",
    assignee_id: ip.assigneeId,
    location: locationJson(ip.locationName),
  };
}

export function serverMatchesSelector(server: ServerRecord, selector: string): boolean {
  return parseLabelSelector(selector)(server.labels);
}

/** Whether the firewall reaches the server, directly or through one of its label selectors. */
export function firewallAppliesTo(firewall: FirewallRecord, server: ServerRecord): boolean {
  return firewall.appliedTo.some((target) =>
    target.type === "server" ? target.serverId === server.id : serverMatchesSelector(server, target.selector),
  );
}

export function renderFirewall(firewall: FirewallRecord, state: EmulatorState): Json {
  return {
    id: firewall.id,
    name: firewall.name,
    labels: firewall.labels,
    created: firewall.created,
    rules: firewall.rules,
    applied_to: firewall.appliedTo.map((target) =>
      target.type === "server"
        ? { type: "server", server: { id: target.serverId } }
        : {
            type: "label_selector",
            label_selector: { selector: target.selector },
            applied_to_resources: state.servers
              .filter((server) => serverMatchesSelector(server, target.selector))
              .map((server) => ({ type: "server", server: { id: server.id } })),
          },
    ),
  };
}

function ipv6Json(server: ServerRecord, state: EmulatorState): Json | null {
  const ip = state.primaryIps.find((candidate) => candidate.assigneeId === server.id);
  return ip ? { id: ip.id, ip: ip.network, blocked: false, dns_ptr: [] } : null;
}

export function renderServer(server: ServerRecord, state: EmulatorState): Json {
  const serverType = findAnyServerType(server.serverTypeName, state.deprecationMarks);
  const image = findImageById(server.imageId);
  if (!serverType || !image) throw new Error(`server ${server.id} refers to unknown server type or image`);
  return {
    id: server.id,
    name: server.name,
    status: server.status,
    created: server.created,
    public_net: {
      ipv4: null,
      ipv6: ipv6Json(server, state),
      floating_ips: [],
      firewalls: state.firewalls
        .filter((firewall) => firewallAppliesTo(firewall, server))
        .map((firewall) => ({ id: firewall.id, status: "applied" })),
    },
    private_net: serverPrivateNet(server, state),
    server_type: renderServerType(serverType, state.soldOut),
    location: locationJson(server.locationName),
    image: renderImage(image),
    iso: null,
    rescue_enabled: false,
    locked: false,
    // null unless backups are on: a window with backups=false makes the provider call disable_backup.
    backup_window: server.backupWindow,
    outgoing_traffic: 0,
    ingoing_traffic: 0,
    included_traffic: 21990232555520,
    protection: { delete: server.deleteProtection, rebuild: server.rebuildProtection },
    labels: server.labels,
    volumes: state.volumes.filter((volume) => volume.serverId === server.id).map((volume) => volume.id),
    load_balancers: serverLoadBalancers(server, state),
    primary_disk_size: server.primaryDiskSize,
    placement_group: null,
  };
}

/** The path udev gives a Hetzner Volume on the server it is attached to (and the simulated hosts too). */
export function volumeDevice(volumeId: number): string {
  return `/dev/disk/by-id/${volumeDiskName(volumeId)}`;
}

/** As hcloud-go's schema.Volume reads it; `format` is null for a volume created without one. */
export function renderVolume(volume: VolumeRecord): Json {
  return {
    id: volume.id,
    name: volume.name,
    server: volume.serverId,
    status: volume.status,
    location: locationJson(volume.locationName),
    size: volume.size,
    format: volume.format,
    protection: { delete: volume.deleteProtection },
    labels: volume.labels,
    linux_device: volumeDevice(volume.id),
    created: volume.created,
  };
}
