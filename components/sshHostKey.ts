import * as pulumi from "@pulumi/pulumi";
import { generateEd25519KeyPair } from "./sshKeys";

interface HostKeyInputs {
  comment: string;
}

/**
 * Generates the key in the deployer's Node process, so pinning host keys needs no extra provider
 * plugin. The key lives only in (encrypted) state; changing the comment replaces it.
 */
export const hostKeyProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: HostKeyInputs) {
    const pair = generateEd25519KeyPair(inputs.comment);
    const [, blob] = pair.publicKey.split(" ");
    return { id: blob, outs: { comment: inputs.comment, ...pair } };
  },
};

export interface SshHostKeyArgs {
  /** Comment in the public key line, e.g. the server name. */
  readonly comment: pulumi.Input<string>;
}

/** An ed25519 sshd host key in OpenSSH formats; `privateKey` is a secret output. */
export class SshHostKey extends pulumi.dynamic.Resource {
  declare public readonly publicKey: pulumi.Output<string>;
  declare public readonly privateKey: pulumi.Output<string>;

  constructor(name: string, args: SshHostKeyArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      hostKeyProvider,
      name,
      { comment: args.comment, publicKey: undefined, privateKey: undefined },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["privateKey"] }),
      "hcloud-deploy",
      "SshHostKey",
    );
  }
}
