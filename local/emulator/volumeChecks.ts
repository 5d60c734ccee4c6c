import { Body } from "./body";
import { ApiError, invalidInput, uniquenessError } from "./errors";
import { EmulatorState, ServerRecord, VolumeRecord } from "./state";

/**
 * What the API checks of a volume request before anything changes. Rules from the API's OpenAPI
 * description (POST /volumes: names, sizes 10 GB to 10 TB, "a Volume can be attached to a Server only in
 * the same Location as the Volume itself") and the Hetzner Volumes FAQ (at most 16 volumes per server).
 */

export const MIN_VOLUME_GB = 10;
export const MAX_VOLUME_GB = 10240;
export const MAX_VOLUMES_PER_SERVER = 16;

// "alphanumeric characters, dashes, underscores, and dots, but has to start and end with an
// alphanumeric character. The total length is limited to 64 characters."
const VOLUME_NAME = /^[a-zA-Z0-9]([-_.a-zA-Z0-9]{0,62}[a-zA-Z0-9])?$/;

export function readVolumeName(state: EmulatorState, body: Body, exceptId?: number): string | undefined {
  const name = body.name;
  if (name === undefined || name === null) return undefined;
  if (typeof name !== "string" || !VOLUME_NAME.test(name)) {
    throw invalidInput(
      "name",
      "must be 1 to 64 letters, digits, dashes, underscores or dots, starting and ending with a letter or digit",
    );
  }
  if (state.volumes.some((volume) => volume.name === name && volume.id !== exceptId)) {
    throw uniquenessError("name", `volume with the name "${name}" already exists`);
  }
  return name;
}

/** A size in GB within the API's bounds; resize checks against the current size itself. */
export function readVolumeSize(body: Body): number {
  const size = body.size;
  if (size === undefined || size === null) throw invalidInput("size", "is required");
  if (typeof size !== "number" || !Number.isSafeInteger(size))
    throw invalidInput("size", "must be an integer");
  if (size < MIN_VOLUME_GB || size > MAX_VOLUME_GB) {
    throw invalidInput("size", `must be between ${MIN_VOLUME_GB} and ${MAX_VOLUME_GB} GB`);
  }
  return size;
}

/**
 * The server a volume goes onto, named by `field` of the body: it must exist, be created already and
 * have room for one more volume. The location is checked by the caller, who knows the volume's.
 */
export function attachableServer(state: EmulatorState, id: number, field: string): ServerRecord {
  const server = state.servers.find((candidate) => candidate.id === id);
  if (!server) throw invalidInput(field, `server ${id} does not exist`);
  if (server.status === "initializing") {
    throw new ApiError(423, "locked", "cannot perform operation because server is locked");
  }
  const attached = state.volumes.filter((volume) => volume.serverId === server.id).length;
  // The code is the one hetznercloud/csi-driver maps to "attach limit reached" (internal/volsrv/volume.go).
  if (attached >= MAX_VOLUMES_PER_SERVER) {
    throw new ApiError(
      422,
      "limit_exceeded_error",
      `server ${server.id} has ${MAX_VOLUMES_PER_SERVER} volumes attached, the most a server can have`,
    );
  }
  return server;
}

/**
 * The real API refuses a server in another location, but its code and message are not on record
 * anywhere this emulator's sources reach; invalid_input on `server` is the emulator's choice.
 */
export function assertSameLocation(
  volume: Pick<VolumeRecord, "id" | "locationName">,
  server: ServerRecord,
): void {
  if (volume.locationName !== server.locationName) {
    throw invalidInput(
      "server",
      `server ${server.id} is in ${server.locationName}, volume ${volume.id} in ${volume.locationName}`,
    );
  }
}
