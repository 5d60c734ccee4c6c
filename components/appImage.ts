import { execFileSync } from "child_process";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** Build from a Docker context, or take a prebuilt digest reference (built by CI elsewhere). */
export type ImageSource =
  | { readonly kind: "build"; readonly context: string; readonly dockerfile: string }
  | { readonly kind: "prebuilt"; readonly ref: string };

/** A container registry and the account the deployer uses with it. */
export interface Registry {
  /** Host name with optional port, e.g. `ghcr.io`. */
  readonly server: string;
  /** Owner of the repositories: `<server>/<namespace>/<app>`. */
  readonly namespace: string;
  readonly username: string;
}

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

export interface AppImageArgs {
  /** App name: the repository is `<registry.server>/<registry.namespace>/<app>`. */
  readonly app: string;
  /** Build from a context, or take a prebuilt digest reference. */
  readonly source: ImageSource;
  /** Where to push; read only when building. */
  readonly registry: Registry;
  /** Token allowed to push; required when building. Default: none. */
  readonly pushToken?: pulumi.Input<string>;
  /** Image tag. Default: `<last commit touching the context>-<stack>`. */
  readonly tag?: string;
}

/** An app's image, built for linux/amd64 and pushed, or prebuilt; always resolved to a digest reference. */
export class AppImage extends pulumi.ComponentResource {
  /** Digest-pinned reference, `ghcr.io/owner/app@sha256:…`. */
  public readonly ref: pulumi.Output<string>;

  constructor(name: string, args: AppImageArgs, opts?: pulumi.ComponentResourceOptions) {
    const { source, registry } = args;
    if (source.kind === "build" && args.pushToken === undefined)
      throw new Error(`AppImage ${name}: building needs a push token`);
    super("hcloud-deploy:image:AppImage", name, {}, opts);

    if (source.kind === "prebuilt") {
      this.ref = pulumi.output(source.ref);
    } else {
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
    this.registerOutputs({ ref: this.ref });
  }
}
