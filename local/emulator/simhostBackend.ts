import path from "node:path";
import { HARNESS_STATE_ROOT } from "../dockerd";
import { releaseOfImage } from "../hostRootfs";
import type { HostArchitecture, SimHost, SimHostSpec } from "../simhost";
import type { Architecture } from "./catalog";
import { parseCloudInit } from "./cloudInit";
import { HostBackend, HostSpec, VolumeSpec, volumeDiskName } from "./hostBackend";
import { RunCommand, VolumeDisks } from "./volumeDisks";

/** Packages whose unit a simulated host can run (the others are the machine's, or not services). */
const SUPERVISED_PACKAGES = ["caddy"];

export type StartSimHost = (spec: SimHostSpec) => Promise<SimHost>;

export interface SimHostBackendOptions {
  /** Registries the hosts' dockerd may reach over plain HTTP (the local test registry). */
  insecureRegistries?: string[];
  /** Distinguishes the hosts of two emulators on one machine (the local stack and the e2e test). */
  hostNamePrefix?: string;
  /**
   * Where volumes' disks (sparse files, their data) are kept: beside the state file, so that they
   * survive a restart with it. Default HARNESS_STATE_ROOT/volumes/<hostNamePrefix>.
   */
  volumesDir?: string;
  /** Runs mkfs and losetup; for tests. */
  runCommand?: RunCommand;
}

/**
 * Simulated host names become network namespace and veth names, which allow only [a-z0-9-]{1,10}; server
 * names are longer (Pulumi appends 7 characters), so the host is named after the server ID instead.
 */
export function simHostName(serverId: number, prefix = "s"): string {
  return `${prefix}${serverId}`;
}

/** The catalog's architecture names (the API's) in Docker's names. */
const HOST_ARCHITECTURE: Record<Architecture, HostArchitecture> = { x86: "amd64", arm: "arm64" };

/**
 * The host spec for a server; throws with every reason its cloud-init cannot bring one up, or in one line
 * when its image is not one a simulated host boots.
 */
export function simHostSpecOf(server: HostSpec, options: SimHostBackendOptions = {}): SimHostSpec {
  let release: SimHostSpec["release"];
  try {
    release = releaseOfImage(server.image);
  } catch (err) {
    throw new Error(`server ${server.name} cannot get a simulated host: ${(err as Error).message}`);
  }
  const parsed = parseCloudInit(server.userData);
  if (!parsed.ok) {
    throw new Error(
      `cloud-init of server ${server.name} cannot bring up a host: ${parsed.problems.join("; ")}`,
    );
  }
  return {
    name: simHostName(server.id, options.hostNamePrefix),
    address: server.address,
    prefixLength: server.prefixLength,
    // A cax server's host runs arm64 containers (under qemu); its own daemons are amd64 ones.
    architecture: HOST_ARCHITECTURE[server.architecture],
    release,
    authorizedKeys: [...new Set([...server.authorizedKeys, ...parsed.config.authorizedKeys])],
    hostKey: parsed.config.hostKey,
    insecureRegistries: options.insecureRegistries,
    files: parsed.config.files,
    // Installing caddy enables its unit, as the Debian package does.
    enabledUnits: parsed.config.packages.filter((p) => SUPERVISED_PACKAGES.includes(p)),
  };
}

/**
 * Puts a simulated IPv6-only host (local/simhost.ts) behind every server, and a disk (volumeDisks.ts)
 * behind every volume, which the host it is attached to sees as /dev/disk/by-id/scsi-0HC_Volume_<id>.
 */
export class SimHostBackend implements HostBackend {
  private readonly hosts = new Map<number, SimHost>();
  private readonly disks: VolumeDisks;
  /** Volume ID → the server whose host has it linked. */
  private readonly attachments = new Map<number, number>();

  constructor(
    private readonly start: StartSimHost,
    private readonly options: SimHostBackendOptions = {},
  ) {
    const dir = options.volumesDir ?? path.join(HARNESS_STATE_ROOT, "volumes", options.hostNamePrefix ?? "s");
    this.disks = new VolumeDisks(dir, options.runCommand);
  }

  async create(server: HostSpec): Promise<void> {
    const host = await this.start(simHostSpecOf(server, this.options));
    this.hosts.set(server.id, host);
    // sshd and Docker are up: that is what this host's cloud-init amounts to, so it has finished.
    await host.exec("mkdir -p /var/lib/cloud/instance && touch /var/lib/cloud/instance/boot-finished");
  }

  /** The namespace of the server's running host, where its private networks plug in. */
  netnsOf(serverId: number): string | undefined {
    return this.hosts.get(serverId)?.netns;
  }

  /** The host reboots as after a power cut: its disk and its attached volumes' links stay. */
  async reboot(serverId: number): Promise<void> {
    await this.hosts.get(serverId)?.reboot();
  }

  /** Loop devices still on the server's volumes (the API detaches them first) go once the host is gone. */
  async delete(serverId: number): Promise<void> {
    const host = this.hosts.get(serverId);
    this.hosts.delete(serverId);
    await host?.stop();
    for (const [volumeId, attachedTo] of [...this.attachments]) {
      if (attachedTo === serverId) await this.releaseDisk(volumeId);
    }
  }

  async createVolume(volume: VolumeSpec): Promise<void> {
    await this.disks.create(volume);
  }

  /** A new loop device on the volume's file, linked in the host; nothing is left behind if linking fails. */
  async attachVolume(serverId: number, volumeId: number): Promise<void> {
    const host = this.hosts.get(serverId);
    if (!host) throw new Error(`server ${serverId} has no running host to attach volume ${volumeId} to`);
    const device = await this.disks.attach(volumeId);
    try {
      await host.attachDisk(volumeDiskName(volumeId), device);
    } catch (error) {
      await this.disks.detach(volumeId);
      throw error;
    }
    this.attachments.set(volumeId, serverId);
  }

  /** The host unmounts and unlinks it (see SimHost.detachDisk), then its loop device goes. */
  async detachVolume(serverId: number, volumeId: number): Promise<void> {
    await this.hosts.get(serverId)?.detachDisk(volumeDiskName(volumeId));
    await this.releaseDisk(volumeId);
  }

  async resizeVolume(volumeId: number, sizeGb: number): Promise<void> {
    await this.disks.resize(volumeId, sizeGb);
  }

  async deleteVolume(volumeId: number): Promise<void> {
    this.attachments.delete(volumeId);
    await this.disks.remove(volumeId);
  }

  /** Hosts first, whose mounts go with them; then the loop devices. The volumes' files stay. */
  async close(): Promise<void> {
    const hosts = [...this.hosts.values()];
    this.hosts.clear();
    await Promise.all(hosts.map((host) => host.stop()));
    this.attachments.clear();
    await this.disks.close();
  }

  private async releaseDisk(volumeId: number): Promise<void> {
    this.attachments.delete(volumeId);
    await this.disks.detach(volumeId);
  }
}
