import { ActionTarget, recordAction, timestamp } from "./actions";
import { ApiError } from "./errors";
import { HostBackend } from "./hostBackend";
import { ActionRecord, Labels, ServerRecord, VolumeFormat, VolumeRecord } from "./state";
import { StateStore } from "./store";

/**
 * Volumes and their disks: each change is recorded, brought about by the host backend and only then
 * answered, like a server's create (serverLifecycle.ts), so every action is finished when it is returned.
 * A backend failure fails the action with its message and leaves the record as it was.
 */

/** Volumes with a backend call in flight, per emulator: a second request answers `locked`, as on the API. */
const busy = new WeakMap<StateStore, Set<number>>();

/**
 * Runs `work` with the volume locked. The real API's message for a locked server is "cannot perform
 * operation because server is locked" (terraform-provider-hcloud #53); the volume's is modelled on it.
 */
export async function withVolumeLock<T>(
  store: StateStore,
  volumeId: number,
  work: () => Promise<T>,
): Promise<T> {
  const locked = busy.get(store) ?? new Set<number>();
  busy.set(store, locked);
  if (locked.has(volumeId)) {
    throw new ApiError(423, "locked", "cannot perform operation because volume is locked");
  }
  locked.add(volumeId);
  try {
    return await work();
  } finally {
    locked.delete(volumeId);
  }
}

function failure(error: unknown): NonNullable<ActionRecord["error"]> {
  return { code: "action_failed", message: error instanceof Error ? error.message : String(error) };
}

function targets(volume: VolumeRecord, server?: ServerRecord): ActionTarget[] {
  const volumeTarget: ActionTarget = { id: volume.id, type: "volume" };
  return server ? [{ id: server.id, type: "server" }, volumeTarget] : [volumeTarget];
}

export interface VolumeCreateRequest {
  name: string;
  size: number;
  locationName: string;
  format: VolumeFormat | null;
  labels: Labels;
  /** Attach it there once it exists (`next_actions` then holds the attach_volume action). */
  server: ServerRecord | undefined;
}

export interface CreatedVolume {
  volume: VolumeRecord;
  action: ActionRecord;
  nextActions: ActionRecord[];
}

/**
 * Records the volume (`creating`, so its name is taken), has the backend make its disk, then attaches it
 * if a server was given. A disk that could not be made fails create_volume and the record goes again:
 * there is no volume whose disk does not exist.
 */
export async function createVolume(
  store: StateStore,
  hosts: HostBackend,
  request: VolumeCreateRequest,
): Promise<CreatedVolume> {
  const volume: VolumeRecord = {
    id: store.nextId("volume"),
    name: request.name,
    size: request.size,
    locationName: request.locationName,
    format: request.format,
    labels: request.labels,
    created: timestamp(),
    status: "creating",
    deleteProtection: false,
    serverId: null,
  };
  store.state.volumes.push(volume);
  store.save();
  return withVolumeLock(store, volume.id, async () => {
    try {
      await hosts.createVolume({ id: volume.id, sizeGb: volume.size, format: volume.format ?? undefined });
    } catch (error) {
      store.state.volumes = store.state.volumes.filter((candidate) => candidate !== volume);
      const action = recordAction(store, "create_volume", targets(volume, request.server), failure(error));
      return { volume, action, nextActions: [] };
    }
    volume.status = "available";
    const action = recordAction(store, "create_volume", targets(volume, request.server));
    const nextActions = request.server ? [await attach(store, hosts, volume, request.server)] : [];
    return { volume, action, nextActions };
  });
}

/** The caller has checked that the volume is free and the server in its location. */
async function attach(
  store: StateStore,
  hosts: HostBackend,
  volume: VolumeRecord,
  server: ServerRecord,
): Promise<ActionRecord> {
  try {
    await hosts.attachVolume(server.id, volume.id);
  } catch (error) {
    return recordAction(store, "attach_volume", targets(volume, server), failure(error));
  }
  volume.serverId = server.id;
  return recordAction(store, "attach_volume", targets(volume, server));
}

export function attachVolume(
  store: StateStore,
  hosts: HostBackend,
  volume: VolumeRecord,
  server: ServerRecord,
): Promise<ActionRecord> {
  return withVolumeLock(store, volume.id, () => attach(store, hosts, volume, server));
}

/** Detaching a detached volume is a successful no-op here; what the real API answers is unknown. */
export function detachVolume(
  store: StateStore,
  hosts: HostBackend,
  volume: VolumeRecord,
): Promise<ActionRecord> {
  return withVolumeLock(store, volume.id, async () => {
    if (volume.serverId === null) return recordAction(store, "detach_volume", targets(volume));
    const server = store.state.servers.find((candidate) => candidate.id === volume.serverId);
    try {
      await hosts.detachVolume(volume.serverId, volume.id);
    } catch (error) {
      return recordAction(store, "detach_volume", targets(volume, server), failure(error));
    }
    volume.serverId = null;
    return recordAction(store, "detach_volume", targets(volume, server));
  });
}

/** The caller has checked that `size` is larger; the record takes it once the disk has grown. */
export function resizeVolume(
  store: StateStore,
  hosts: HostBackend,
  volume: VolumeRecord,
  size: number,
): Promise<ActionRecord> {
  return withVolumeLock(store, volume.id, async () => {
    try {
      await hosts.resizeVolume(volume.id, size);
    } catch (error) {
      return recordAction(store, "resize_volume", targets(volume), failure(error));
    }
    volume.size = size;
    return recordAction(store, "resize_volume", targets(volume));
  });
}

/** The caller has checked protection and attachment; the record goes once the disk is gone. */
export function deleteVolume(store: StateStore, hosts: HostBackend, volume: VolumeRecord): Promise<void> {
  return withVolumeLock(store, volume.id, async () => {
    await hosts.deleteVolume(volume.id);
    store.state.volumes = store.state.volumes.filter((candidate) => candidate !== volume);
  });
}

/**
 * A deleted server's volumes are detached, as Hetzner does; they and their data stay. The host goes
 * next, so a failure to detach one is not the delete's problem (the backend lets go of its disks then).
 */
export async function detachServerVolumes(
  store: StateStore,
  hosts: HostBackend,
  server: ServerRecord,
): Promise<void> {
  // All records change before the first await, so the state saved right after shows none attached.
  const volumes = store.state.volumes.filter((candidate) => candidate.serverId === server.id);
  for (const volume of volumes) volume.serverId = null;
  for (const volume of volumes) await hosts.detachVolume(server.id, volume.id).catch(() => undefined);
}

/**
 * After a restart (restoreHosts has brought the hosts back) every attachment is made again. A volume
 * caught mid-create by a crash gets its disk made anew: it never held data. Failures are logged; the
 * API keeps showing the attachment, as it would for a server that is off.
 */
export async function restoreVolumes(
  store: StateStore,
  hosts: HostBackend,
  log: (line: string) => void,
): Promise<void> {
  for (const volume of store.state.volumes) {
    try {
      if (volume.status === "creating") {
        await hosts.createVolume({ id: volume.id, sizeGb: volume.size, format: volume.format ?? undefined });
        volume.status = "available";
      }
      if (volume.serverId !== null) await hosts.attachVolume(volume.serverId, volume.id);
    } catch (error) {
      log(`restoring volume ${volume.id} (${volume.name}) failed: ${(error as Error).message}`);
    }
  }
  store.save();
}
