import type * as pulumiType from "@pulumi/pulumi";
import type { HostTarget } from "../../../components/hostTarget";

/** What a fake host target resolves to. */
export const TARGET = {
  hostName: "box",
  address: "2001:db8:77::1",
  hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfBoxHostKeyOfBoxHostKeyOfBox box",
  privateKey:
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----\n",
  serverId: "server-42",
};

/** A HostTarget as another program could hand one in: plain Outputs, no HetznerHost. */
export function fakeTarget(pulumi: typeof pulumiType): HostTarget {
  return {
    hostName: TARGET.hostName,
    address: pulumi.output(TARGET.address),
    hostKey: pulumi.output(TARGET.hostKey),
    connection: pulumi.secret({
      host: TARGET.address,
      user: "root",
      privateKey: TARGET.privateKey,
      hostKey: TARGET.hostKey,
      dialErrorLimit: 40,
      perDialTimeout: 10,
    }),
    serverId: pulumi.output(TARGET.serverId),
  };
}
