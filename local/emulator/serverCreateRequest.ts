import {
  Body,
  isId,
  optionalArray,
  optionalBoolean,
  optionalId,
  optionalObject,
  optionalReference,
  optionalString,
  requiredString,
} from "./body";
import {
  Image,
  Location,
  LOCATIONS,
  ServerType,
  findImage,
  findLocation,
  findServerType,
  orderability,
} from "./catalog";
import {
  ApiError,
  datacenterRemoved,
  invalidInput,
  soldOut,
  uniquenessError,
  unsupported,
  unsupportedLocation,
} from "./errors";
import { readLabels } from "./labels";
import { EmulatorState, FirewallRecord, Labels, PrimaryIpRecord, SshKeyRecord } from "./state";

/** The API's documented user_data limit. */
export const MAX_USER_DATA_BYTES = 32 * 1024;

const HOSTNAME_LABEL = /^[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$/;

/** Features of `POST /servers` this emulator does not model; rejected so a program relying on them notices. */
const UNSUPPORTED_FIELDS = ["volumes", "networks", "placement_group"];

export interface ServerCreateRequest {
  name: string;
  serverType: ServerType;
  image: Image;
  location: Location;
  sshKeys: SshKeyRecord[];
  userData: string;
  labels: Labels;
  firewalls: FirewallRecord[];
  /** An existing primary IP to assign, or undefined to create an auto-delete one like the real API. */
  ipv6: PrimaryIpRecord | undefined;
  startAfterCreate: boolean;
}

export function isValidHostname(name: string): boolean {
  return name.length <= 253 && name.split(".").every((label) => HOSTNAME_LABEL.test(label));
}

function readName(state: EmulatorState, body: Body): string {
  const name = requiredString(body, "name");
  if (!isValidHostname(name)) throw invalidInput("name", "must be a valid hostname (RFC 1123)");
  if (state.servers.some((server) => server.name === name)) {
    throw uniquenessError("name", `server with the name "${name}" already exists`);
  }
  return name;
}

function readSshKeys(state: EmulatorState, body: Body): SshKeyRecord[] {
  return optionalArray(body, "ssh_keys").map((ref) => {
    const key = state.sshKeys.find((candidate) =>
      isId(ref) ? candidate.id === ref : candidate.name === ref,
    );
    if (!key) throw invalidInput("ssh_keys", `SSH key ${JSON.stringify(ref)} does not exist`);
    return key;
  });
}

function readFirewalls(state: EmulatorState, body: Body): FirewallRecord[] {
  return optionalArray(body, "firewalls").map((entry) => {
    const id = (entry as { firewall?: unknown } | null)?.firewall;
    const firewall = state.firewalls.find((candidate) => candidate.id === id);
    if (!firewall) throw invalidInput("firewalls", `firewall ${JSON.stringify(id)} does not exist`);
    return firewall;
  });
}

/** Only IPv6-only servers can be simulated, so IPv4 (the API default) is refused up front. */
function readIpv6(state: EmulatorState, body: Body): PrimaryIpRecord | undefined {
  const publicNet = optionalObject(body, "public_net") ?? {};
  const enableIpv4 = optionalBoolean(publicNet, "enable_ipv4") ?? true;
  if (enableIpv4 || optionalId(publicNet, "ipv4") !== undefined) {
    throw unsupported("the emulator simulates IPv6-only hosts; send public_net with enable_ipv4: false");
  }
  const ipv6Id = optionalId(publicNet, "ipv6");
  const enableIpv6 = optionalBoolean(publicNet, "enable_ipv6") ?? true;
  if (!enableIpv6 && ipv6Id === undefined) {
    throw unsupported("the emulator reaches hosts only over IPv6; send public_net with enable_ipv6: true");
  }
  if (ipv6Id === undefined) return undefined;
  const ip = state.primaryIps.find((candidate) => candidate.id === ipv6Id);
  if (!ip) throw invalidInput("public_net.ipv6", `primary IP ${ipv6Id} does not exist`);
  return ip;
}

/**
 * The location the server goes to, refused as the real API refuses it: a type not offered there (or
 * past its `unavailable_after` there) is 422 invalid_input "unsupported location for server type"; a
 * type sold out there is 412 resource_unavailable. Without a location the API picks one: the primary
 * IP's, else the first where the type can be ordered.
 */
function readLocation(
  state: EmulatorState,
  body: Body,
  serverType: ServerType,
  ipv6: PrimaryIpRecord | undefined,
): Location {
  if (body.datacenter !== undefined && body.datacenter !== null) throw datacenterRemoved();
  const ref = optionalReference(body, "location");
  const fallback = LOCATIONS.find(
    (candidate) => orderability(serverType, candidate.name, state.soldOut) === "orderable",
  );
  const wanted = ref ?? ipv6?.locationName ?? fallback?.name;
  if (wanted === undefined) throw soldOut();
  const location = findLocation(wanted);
  if (!location) throw invalidInput("location", `location ${JSON.stringify(wanted)} not found`);
  const answer = orderability(serverType, location.name, state.soldOut);
  if (answer === "unsupported") throw unsupportedLocation();
  if (answer === "sold_out") throw soldOut();
  return location;
}

/** Validates a `POST /servers` body against the current state without changing anything. */
export function readServerCreateRequest(state: EmulatorState, body: Body): ServerCreateRequest {
  const unsupportedField = UNSUPPORTED_FIELDS.find(
    (field) => body[field] !== undefined && body[field] !== null,
  );
  if (unsupportedField) {
    throw unsupported(`the emulator does not model "${unsupportedField}" on server create`);
  }
  const name = readName(state, body);
  const typeRef = optionalReference(body, "server_type");
  if (typeRef === undefined) throw invalidInput("server_type", "is required");
  const serverType = findServerType(typeRef, state.deprecationMarks);
  // Also the answer for cx22–cx52: they are gone from the API, not merely unavailable.
  if (!serverType) {
    throw new ApiError(422, "invalid_input", `server type '${String(typeRef)}' not found`, {
      fields: [{ name: "server_type", messages: ["not found"] }],
    });
  }
  const imageRef = optionalReference(body, "image");
  const image = findImage(imageRef, serverType.architecture);
  if (!image) {
    throw invalidInput(
      "image",
      `image ${JSON.stringify(imageRef)} does not exist for architecture ${serverType.architecture}`,
    );
  }
  const userData = optionalString(body, "user_data") ?? "";
  if (Buffer.byteLength(userData) > MAX_USER_DATA_BYTES) {
    throw invalidInput("user_data", `must not be longer than ${MAX_USER_DATA_BYTES} bytes`);
  }
  const ipv6 = readIpv6(state, body);
  return {
    name,
    serverType,
    image,
    location: readLocation(state, body, serverType, ipv6),
    sshKeys: readSshKeys(state, body),
    userData,
    labels: readLabels(body.labels),
    firewalls: readFirewalls(state, body),
    ipv6,
    startAfterCreate: optionalBoolean(body, "start_after_create") ?? true,
  };
}
