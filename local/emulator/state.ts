/**
 * Everything the emulator remembers, exactly as persisted to the state file. Cross-references have one
 * owner each (a primary IP knows its server, a firewall knows its targets), and the rendered API objects
 * derive the reverse direction, so the two sides can never disagree.
 */

export type Labels = Record<string, string>;

export interface SshKeyRecord {
  id: number;
  name: string;
  publicKey: string;
  fingerprint: string;
  labels: Labels;
  created: string;
}

export interface PrimaryIpRecord {
  id: number;
  name: string;
  type: "ipv6";
  /** `<network>::/64` */
  network: string;
  locationName: string;
  labels: Labels;
  created: string;
  autoDelete: boolean;
  deleteProtection: boolean;
  assigneeId: number | null;
}

/** Stored as the API shows it, because rules are echoed back exactly as they were sent. */
export interface FirewallRule {
  direction: "in" | "out";
  protocol: string;
  port: string | null;
  source_ips: string[];
  destination_ips: string[];
  description: string | null;
}

export type FirewallTarget =
  { type: "server"; serverId: number } | { type: "label_selector"; selector: string };

export interface FirewallRecord {
  id: number;
  name: string;
  labels: Labels;
  created: string;
  rules: FirewallRule[];
  appliedTo: FirewallTarget[];
}

export type ServerStatus = "initializing" | "running" | "off";

export interface ServerRecord {
  id: number;
  name: string;
  status: ServerStatus;
  created: string;
  serverTypeName: string;
  imageId: number;
  locationName: string;
  labels: Labels;
  deleteProtection: boolean;
  rebuildProtection: boolean;
  backupWindow: string | null;
  primaryDiskSize: number;
  /** Never returned by the API; kept so a restarted emulator can bring the host back. */
  userData: string;
  /** Public keys of the server's ssh_keys at create time (the keys may be deleted later). */
  authorizedKeys: string[];
}

export interface ActionRecord {
  id: number;
  command: string;
  status: "success" | "error";
  started: string;
  finished: string;
  resources: { id: number; type: string }[];
  error: { code: string; message: string } | null;
}

export type IdKind = "action" | "sshKey" | "primaryIp" | "firewall" | "server";

export interface EmulatorState {
  version: 1;
  nextId: Record<IdKind, number>;
  /** Index of the next /64 in the IPv6 pool; never reused, so a replacement server gets a fresh address. */
  nextIpv6Network: number;
  sshKeys: SshKeyRecord[];
  primaryIps: PrimaryIpRecord[];
  firewalls: FirewallRecord[];
  servers: ServerRecord[];
  actions: ActionRecord[];
}

/** Distinct ranges per kind, so an ID passed where another kind belongs fails instead of matching. */
export function emptyState(): EmulatorState {
  return {
    version: 1,
    nextId: { sshKey: 1001, primaryIp: 2001, firewall: 3001, server: 4001, action: 9001 },
    nextIpv6Network: 1,
    sshKeys: [],
    primaryIps: [],
    firewalls: [],
    servers: [],
    actions: [],
  };
}
