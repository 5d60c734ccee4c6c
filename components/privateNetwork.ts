import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";

/** Defaults of the optional PrivateNetworkArgs fields. */
export const PRIVATE_NETWORK_DEFAULTS = { ipRange: "10.100.0.0/16" };

/**
 * One /24 of `ipRange` per network zone, in the order given: the k-th zone gets the range's k-th /24.
 * Throws when the range holds fewer /24s than there are zones.
 */
export function zoneSubnets(ipRange: string, zones: readonly string[]): Record<string, string> {
  const [address, prefix] = ipRange.split("/");
  const available = 2 ** (24 - Number(prefix));
  if (zones.length > available) {
    throw new Error(
      `${ipRange} holds ${available} /24 subnets, and ${zones.length} network zones need one each`,
    );
  }
  const base = address.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const text = (value: number) => [24, 16, 8, 0].map((s) => Math.floor(value / 2 ** s) % 256).join(".");
  return Object.fromEntries(zones.map((zone, k) => [zone, `${text(base + k * 256)}/24`]));
}

export interface PrivateNetworkArgs {
  /** Network zones with hosts, each getting a subnet (`eu-central`, `us-east`, …); at least one. */
  readonly zones: readonly string[];
  /** Private IPv4 range, /8 to /23; zone k gets its k-th /24. Default: `10.100.0.0/16`. */
  readonly ipRange?: string;
  /** Labels for the network. Default: none. */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * The stack's own hcloud Network, which its hosts join so that apps call each other without crossing the
 * public internet (Hetzner's firewalls filter public interfaces only; nothing outside the stack is in it).
 * A Hetzner network routes within a network zone only, so each zone has its own subnet.
 */
export class PrivateNetwork extends pulumi.ComponentResource {
  /** Per network zone, the subnet its hosts join (a NetworkSubnet ID, `<network id>-<range>`). */
  public readonly subnetIds: Readonly<Record<string, pulumi.Output<string>>>;

  constructor(name: string, args: PrivateNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    const ipRange = args.ipRange ?? PRIVATE_NETWORK_DEFAULTS.ipRange;
    if (args.zones.length === 0)
      throw new Error(`PrivateNetwork ${name}: [zones] must hold at least one zone`);
    const subnets = zoneSubnets(ipRange, args.zones);
    super("hcloud-deploy:network:PrivateNetwork", name, {}, opts);
    const network = new hcloud.Network(
      `${name}-network`,
      { ipRange, labels: { ...args.labels } },
      { parent: this },
    );
    this.subnetIds = Object.fromEntries(
      Object.entries(subnets).map(([zone, range]) => [
        zone,
        new hcloud.NetworkSubnet(
          `${name}-${zone}`,
          { networkId: network.id.apply(Number), type: "cloud", networkZone: zone, ipRange: range },
          { parent: this },
        ).id,
      ]),
    );
    this.registerOutputs({ subnetIds: this.subnetIds });
  }
}
