import { execFileSync } from "child_process";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ImageSource, RegistryConfig } from "./config";

/**
 * The last commit that touched the build context, so an unchanged app keeps its tag (and is neither
 * rebuilt nor pushed) when other parts of the repository change.
 */
export function gitRevision(context: string): string {
  try {
    const sha = execFileSync("git", ["log", "-1", "--format=%h", "--", "."], {
      cwd: context,
      encoding: "utf8",
    }).trim();
    return sha === "" ? "untracked" : sha;
  } catch {
    return "nogit";
  }
}

/** The tag an image carries on the hosts: derived from the digest, so equal content means equal tag. */
export function hostTagOf(app: string, digestRef: string): string {
  const hex = /@sha256:([0-9a-f]{64})$/.exec(digestRef)?.[1];
  if (!hex) throw new Error(`"${digestRef}" is not a digest-pinned reference`);
  return `hcloud-deploy/${app}:${hex}`;
}

export interface AppImageArgs {
  /** App name: the repository is `<registry.server>/<registry.namespace>/<app>`. */
  readonly app: string;
  /** Build from a context, or take a prebuilt digest reference (built by CI elsewhere). */
  readonly source: ImageSource;
  /** Where to push. */
  readonly registry: RegistryConfig;
  /** Token allowed to push; required when building. */
  readonly pushToken?: pulumi.Input<string>;
  /** Image tag. Default: `<last commit touching the context>-<stack>`. */
  readonly tag?: string;
}

/** An app's image, built for linux/amd64 and pushed, or prebuilt; always resolved to a digest reference. */
export class AppImage extends pulumi.ComponentResource {
  /** Digest-pinned reference, `ghcr.io/owner/app@sha256:…`. */
  public readonly ref: pulumi.Output<string>;
  /** Tag under which hosts keep this image. */
  public readonly hostTag: pulumi.Output<string>;

  constructor(name: string, args: AppImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hcloud-deploy:image:AppImage", name, {}, opts);
    const { source, registry } = args;

    if (source.kind === "prebuilt") {
      this.ref = pulumi.output(source.ref);
    } else {
      if (args.pushToken === undefined) throw new Error(`AppImage ${name}: building needs a push token`);
      const tag = args.tag ?? `${gitRevision(source.context)}-${pulumi.getStack()}`;
      const image = new docker.Image(
        `${name}-image`,
        {
          imageName: `${registry.server}/${registry.namespace}/${args.app}:${tag}`,
          build: {
            context: source.context,
            dockerfile: `${source.context}/${source.dockerfile}`,
            platform: "linux/amd64",
          },
          registry: { server: registry.server, username: registry.username, password: args.pushToken },
        },
        { parent: this },
      );
      this.ref = image.repoDigest;
    }
    this.hostTag = this.ref.apply((ref) => hostTagOf(args.app, ref));
    this.registerOutputs({ ref: this.ref, hostTag: this.hostTag });
  }
}
