import type { Architecture } from "./catalog";
import type { VolumeFormat } from "./state";

/** What the emulator knows about a server when the host behind it has to come up. */
export interface HostSpec {
  id: number;
  name: string;
  /** Its server type's architecture in the catalog (cax: arm). */
  architecture: Architecture;
  /** The name of the image it was created from, e.g. "debian-13". */
  image: string;
  /** `<network>::1` of the server's IPv6 primary IP. */
  address: string;
  prefixLength: 64;
  /** The cloud-init document exactly as the program sent it. */
  userData: string;
  /** Public keys of the server's ssh_keys; cloud-init may add more. */
  authorizedKeys: string[];
}

/** The link udev makes for a Hetzner Volume in /dev/disk/by-id on the server it is attached to. */
export function volumeDiskName(volumeId: number): string {
  return `scsi-0HC_Volume_${volumeId}`;
}

/** What the emulator knows about a volume when its disk has to be made. */
export interface VolumeSpec {
  id: number;
  /** As the API counts it. */
  sizeGb: number;
  /** Formatted with this file system on create, as Hetzner does; a raw device without. */
  format?: VolumeFormat;
}

/**
 * Materialises the machine behind a server, and the disks behind volumes. create() rejecting with an
 * Error fails the server's create_server action with that message, the way a broken image or cloud-init
 * would surface; a volume method rejecting fails its action the same way.
 */
export interface HostBackend {
  create(server: HostSpec): Promise<void>;
  /** The API has detached the server's volumes (detachVolume) before. */
  delete(serverId: number): Promise<void>;
  /** A power cut and a boot of the server's machine; resolves once it answers again. */
  reboot(serverId: number): Promise<void>;
  /** A new, empty disk (a volume's data starts here, whatever a disk of that ID held before). */
  createVolume(volume: VolumeSpec): Promise<void>;
  /** The server's host sees the disk at /dev/disk/by-id/scsi-0HC_Volume_<id> (render.ts volumeDevice). */
  attachVolume(serverId: number, volumeId: number): Promise<void>;
  /** The host no longer sees the disk; its data stays. */
  detachVolume(serverId: number, volumeId: number): Promise<void>;
  /** Only ever larger; the file system on it keeps its size, as at Hetzner. */
  resizeVolume(volumeId: number, sizeGb: number): Promise<void>;
  /** The data goes for good; the volume is detached. */
  deleteVolume(volumeId: number): Promise<void>;
  /** Stops every host this backend started (emulator shutdown); volumes' data stays. */
  close(): Promise<void>;
}

/** For API-level tests and `--hosts none`: remembers what would have been started, starts nothing. */
export class InMemoryHostBackend implements HostBackend {
  readonly hosts = new Map<number, HostSpec>();
  /** Every volume's disk as last created or resized. */
  readonly volumes = new Map<number, VolumeSpec>();
  /** Volume ID → the server whose host sees it. */
  readonly attachments = new Map<number, number>();

  async create(server: HostSpec): Promise<void> {
    this.hosts.set(server.id, server);
  }

  async delete(serverId: number): Promise<void> {
    this.hosts.delete(serverId);
  }

  /** How many times each server's machine was rebooted. */
  readonly reboots = new Map<number, number>();

  async reboot(serverId: number): Promise<void> {
    this.reboots.set(serverId, (this.reboots.get(serverId) ?? 0) + 1);
  }

  async createVolume(volume: VolumeSpec): Promise<void> {
    this.volumes.set(volume.id, volume);
  }

  async attachVolume(serverId: number, volumeId: number): Promise<void> {
    this.attachments.set(volumeId, serverId);
  }

  async detachVolume(_serverId: number, volumeId: number): Promise<void> {
    this.attachments.delete(volumeId);
  }

  async resizeVolume(volumeId: number, sizeGb: number): Promise<void> {
    const volume = this.volumes.get(volumeId);
    if (volume) this.volumes.set(volumeId, { ...volume, sizeGb });
  }

  async deleteVolume(volumeId: number): Promise<void> {
    this.volumes.delete(volumeId);
  }

  async close(): Promise<void> {
    this.hosts.clear();
    // Like the disks of a real backend, the volumes outlive the emulator; only the attachments end.
    this.attachments.clear();
  }
}
