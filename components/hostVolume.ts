import * as command from "@pulumi/command";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import type { HostTarget } from "./hostTarget";
import { modalCommandArgs } from "./deployerCommand";
import { overSshScript } from "./shell/deployerCommand";
import { mountVolumeScript, unmountVolumeScript } from "./shell/volumes";

/** Hetzner's bounds for a volume's size, in GB. */
export const VOLUME_SIZE_LIMITS = { min: 10, max: 10240 };

export interface HostVolumeArgs {
  /** The app whose containers mount it. */
  readonly app: string;
  /** The volume's name in the app's config: its directory is /var/lib/hcloud-deploy/volumes/<app>/<name>. */
  readonly volume: string;
  /** Size in GB (10 to 10240); only ever grows (Hetzner cannot shrink a volume). */
  readonly sizeGb: number;
  /** The server's location: a volume attaches only to servers of its own. */
  readonly location: string;
  /** The host it is attached to and mounted on; a replaced server gets it next. */
  readonly target: HostTarget;
  /**
   * Whether removing it from the stack (or `pulumi destroy`) deletes the Hetzner Volume and its data.
   * Default false: it is kept in the project, detached, and the removal says so in one line.
   */
  readonly deleteData?: boolean;
  /** Hetzner labels on the volume. Default: none. */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * One Hetzner Volume (ext4, made by Hetzner) in the host's location, attached to the host's server and
 * mounted on the app's volume directory there, now and at every boot. A replaced server (a generation
 * bump) deletes the attachment first (the old server lets go), then the new server gets it, data intact.
 * The volume itself outlives the stack unless `deleteData` says otherwise (`retainOnDelete`).
 */
export class HostVolume extends pulumi.ComponentResource {
  /** The Hetzner Volume's ID. */
  public readonly volumeId: pulumi.Output<string>;
  /** What the mount printed: the directory and the disk's size and use. */
  public readonly mounted: pulumi.Output<string>;

  constructor(name: string, args: HostVolumeArgs, opts?: pulumi.ComponentResourceOptions) {
    const { min, max } = VOLUME_SIZE_LIMITS;
    if (!Number.isInteger(args.sizeGb) || args.sizeGb < min || args.sizeGb > max)
      throw new Error(
        `HostVolume ${name}: sizeGb must be a whole number from ${min} to ${max}, not ${args.sizeGb}`,
      );
    super("hcloud-deploy:volume:HostVolume", name, {}, opts);
    const deleteData = args.deleteData ?? false;
    const volume = new hcloud.Volume(
      `${name}-disk`,
      {
        size: args.sizeGb,
        location: args.location,
        format: "ext4",
        automount: false,
        labels: { ...args.labels, app: args.app, volume: args.volume },
      },
      // Data is kept unless the stack says otherwise: removing it from config only forgets it.
      { parent: this, retainOnDelete: !deleteData },
    );
    const attachment = new hcloud.VolumeAttachment(
      `${name}-attachment`,
      {
        volumeId: volume.id.apply(Number),
        serverId: args.target.serverId.apply(Number),
        automount: false,
      },
      // One server at a time: the old server lets go before the new one takes it.
      { parent: this, deleteBeforeReplace: true },
    );
    const { target } = args;
    const script = pulumi
      .all([volume.id, target.address, target.hostKey])
      .apply(([volumeId, address, hostKey]) => {
        const spec = {
          app: args.app,
          hostName: target.hostName,
          volume: { name: args.volume },
          volumeId,
          sizeGb: args.sizeGb,
        };
        return overSshScript({
          subject: `${args.app} volume ${args.volume}`,
          hostName: target.hostName,
          target: { address, port: 22, user: "root", hostKey },
          create: mountVolumeScript(spec),
          delete: unmountVolumeScript({ ...spec, kept: !deleteData }),
        });
      });
    // An update is a resize: the mount grows the file system online.
    const stdin = target.connection.apply((c) => `${c.privateKey.trimEnd()}\n`);
    const mount = new command.local.Command(
      `${name}-mount`,
      modalCommandArgs(script, stdin, [volume.id, target.serverId]),
      { parent: this, dependsOn: [attachment] },
    );
    this.volumeId = volume.id;
    this.mounted = mount.stdout;
    this.registerOutputs({ volumeId: this.volumeId, mounted: this.mounted });
  }
}
