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

export interface SubnetRecord {
  type: "cloud" | "server";
  ipRange: string;
  networkZone: string;
}

/** A server or load balancer in a network; the network owns the attachment. */
export interface NetworkAttachment {
  kind: "server" | "load_balancer";
  id: number;
  ip: string;
}

export interface NetworkRecord {
  id: number;
  name: string;
  ipRange: string;
  labels: Labels;
  created: string;
  deleteProtection: boolean;
  exposeRoutesToVswitch: boolean;
  subnets: SubnetRecord[];
  attachments: NetworkAttachment[];
}

/** Stored as the API shows it, because services are echoed back exactly as they were sent. */
export interface LoadBalancerService {
  protocol: "http" | "https" | "tcp";
  listen_port: number;
  destination_port: number;
  proxyprotocol: boolean;
  health_check: {
    protocol: "http" | "https" | "tcp";
    port: number;
    interval: number;
    timeout: number;
    retries: number;
    http: {
      domain: string | null;
      path: string;
      response: string;
      status_codes: string[];
      tls: boolean;
    } | null;
  };
  http: {
    cookie_name: string;
    cookie_lifetime: number;
    certificates: number[];
    redirect_http: boolean;
    sticky_sessions: boolean;
    timeout_idle: number;
  } | null;
}

export interface LoadBalancerTargetRecord {
  type: "server";
  serverId: number;
  usePrivateIp: boolean;
}

export interface LoadBalancerRecord {
  id: number;
  name: string;
  typeName: string;
  locationName: string;
  labels: Labels;
  created: string;
  deleteProtection: boolean;
  algorithm: "round_robin" | "least_connections";
  /** A documentation address (TEST-NET-3): reported, never configured or routed anywhere. */
  ipv4: string;
  /** `<network>::/64` from the IPv6 pool; the load balancer answers on its `::1`. */
  ipv6Network: string;
  publicInterface: boolean;
  services: LoadBalancerService[];
  targets: LoadBalancerTargetRecord[];
}

export interface CertificateRecord {
  id: number;
  name: string;
  labels: Labels;
  type: "uploaded" | "managed";
  /** PEM; for managed certificates one the emulator issued itself. */
  certificate: string;
  /** Never returned by the API; the load balancer's proxy needs it. */
  privateKey: string;
  domainNames: string[];
  created: string;
  notValidBefore: string;
  notValidAfter: string;
  fingerprint: string;
}

export type VolumeFormat = "ext4" | "xfs";

/** A Hetzner Volume: a block device in one location, attached to at most one server there. */
export interface VolumeRecord {
  id: number;
  name: string;
  /** In GB, as the API counts them (10..10240); the simulated disk has that many GiB. */
  size: number;
  locationName: string;
  /** The file system it was formatted with on create, or null for a raw device. */
  format: VolumeFormat | null;
  labels: Labels;
  created: string;
  /** `creating` only while the backend makes its disk. */
  status: "creating" | "available";
  deleteProtection: boolean;
  /** The volume owns the attachment; a server's `volumes` derive from it. */
  serverId: number | null;
}

export type IdKind =
  | "action"
  | "sshKey"
  | "primaryIp"
  | "firewall"
  | "server"
  | "network"
  | "loadBalancer"
  | "certificate"
  | "volume";

/**
 * A server type marked sold out in one location, for tests: GET /server_types then shows it
 * `available: false` there and POST /servers answers 412 resource_unavailable, as Hetzner does when
 * a type runs out of capacity (the ARM types at times in every EU location). Set it with
 * StateStore.markSoldOut in-process, or `POST /__emulator/sold_out` from outside (emulator.ts).
 */
export interface SoldOutMark {
  serverType: string;
  location: string;
}

/**
 * A server type's deprecation in one location set by a test (null: not deprecated there), in place of
 * the catalog's: a date ahead lists a withdrawn type again (cx22, as before 2025-12-31) or makes an
 * orderable one deprecated.
 */
export interface DeprecationMark {
  serverType: string;
  location: string;
  deprecation: { announced: string; unavailable_after: string } | null;
}

export interface EmulatorState {
  version: 1;
  nextId: Record<IdKind, number>;
  /** Index of the next /64 in the IPv6 pool; never reused, so a replacement server gets a fresh address. */
  nextIpv6Network: number;
  sshKeys: SshKeyRecord[];
  primaryIps: PrimaryIpRecord[];
  firewalls: FirewallRecord[];
  servers: ServerRecord[];
  networks: NetworkRecord[];
  loadBalancers: LoadBalancerRecord[];
  certificates: CertificateRecord[];
  /** Absent in state files written before it existed; read as none. */
  volumes: VolumeRecord[];
  actions: ActionRecord[];
  /** Absent in state files written before it existed; read as none. */
  soldOut: SoldOutMark[];
  /** Absent in state files written before it existed; read as none. */
  deprecationMarks: DeprecationMark[];
}

/** Distinct ranges per kind, so an ID passed where another kind belongs fails instead of matching. */
export function emptyState(): EmulatorState {
  return {
    version: 1,
    nextId: {
      sshKey: 1001,
      primaryIp: 2001,
      firewall: 3001,
      server: 4001,
      network: 5001,
      loadBalancer: 6001,
      certificate: 7001,
      volume: 8001,
      action: 9001,
    },
    nextIpv6Network: 1,
    sshKeys: [],
    primaryIps: [],
    firewalls: [],
    servers: [],
    networks: [],
    loadBalancers: [],
    certificates: [],
    volumes: [],
    actions: [],
    soldOut: [],
    deprecationMarks: [],
  };
}
