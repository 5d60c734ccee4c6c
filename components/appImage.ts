import { execFileSync } from "child_process";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Platform, platformSuffix, platformsOf } from "./platforms";
import { deployerCommandArgs } from "./deployerCommand";
import { imageIndexScript } from "./shell/imageIndex";

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
  readonly registry: Registry & {
    /** Plain HTTP (the local stack's registry); default false. */
    readonly insecure?: boolean;
  };
  /** Token allowed to push; required when building. Default: none. */
  readonly pushToken?: pulumi.Input<string>;
  /** Image tag. Default: `<last commit touching the context>-<stack>`. */
  readonly tag?: string;
  /** The platforms the app's hosts run (one image each). Default: `["linux/amd64"]`. */
  readonly platforms?: readonly Platform[];
  /**
   * With a prebuilt source: its image per platform, as the preflight read the reference's index from the
   * registry; every platform of `platforms` must be there. Default: the reference itself for linux/amd64.
   */
  readonly prebuiltRefs?: Partial<Record<Platform, string>>;
}

/**
 * An app's image for each platform its hosts run, built and pushed, or prebuilt; always digest references.
 * A build for several platforms is one image per platform plus an index over them, so `ref` is one
 * reference for all hosts, as a prebuilt multi-platform image is.
 */
export class AppImage extends pulumi.ComponentResource {
  /** Digest-pinned reference for all platforms, `ghcr.io/owner/app@sha256:…`: what a rollback pins. */
  public readonly ref: pulumi.Output<string>;
  /** Per platform: the digest reference of that platform's image, what a host of it gets. */
  public readonly platformRefs: Partial<Record<Platform, pulumi.Output<string>>>;

  constructor(name: string, args: AppImageArgs, opts?: pulumi.ComponentResourceOptions) {
    const { source, registry } = args;
    const platforms = platformsOf(args.platforms ?? ["linux/amd64"]);
    if (source.kind === "build" && args.pushToken === undefined)
      throw new Error(`AppImage ${name}: building needs a push token`);
    const prebuilt = source.kind === "prebuilt" ? (args.prebuiltRefs ?? { "linux/amd64": source.ref }) : {};
    const missing = source.kind === "prebuilt" ? platforms.filter((p) => prebuilt[p] === undefined) : [];
    if (missing.length > 0) {
      throw new Error(
        `AppImage ${name}: ${source.kind === "prebuilt" && source.ref} has no image for ${missing.join(", ")}`,
      );
    }
    super("hcloud-deploy:image:AppImage", name, {}, opts);

    if (source.kind === "prebuilt") {
      this.ref = pulumi.output(source.ref);
      this.platformRefs = Object.fromEntries(platforms.map((p) => [p, pulumi.output(prebuilt[p] as string)]));
    } else {
      const tag = args.tag ?? `${gitRevision(source.context)}-${pulumi.getStack()}`;
      const repository = `${registry.server}/${registry.namespace}/${args.app}`;
      const images = platforms.map((platform) => {
        const suffix = platformSuffix(platform);
        const image = new docker.Image(
          `${name}-image${suffix}`,
          {
            imageName: `${repository}:${tag}${suffix}`,
            build: {
              context: source.context,
              dockerfile: `${source.context}/${source.dockerfile}`,
              platform,
            },
            registry: { server: registry.server, username: registry.username, password: args.pushToken },
          },
          { parent: this },
        );
        return [platform, image.repoDigest] as const;
      });
      this.platformRefs = Object.fromEntries(images);
      this.ref =
        images.length === 1 ? images[0][1] : this.pushIndex(name, args, `${repository}:${tag}`, images);
    }
    this.registerOutputs({ ref: this.ref, platformRefs: this.platformRefs });
  }

  private pushIndex(
    name: string,
    args: AppImageArgs,
    indexTag: string,
    images: readonly (readonly [Platform, pulumi.Output<string>])[],
  ): pulumi.Output<string> {
    const manifests = pulumi.all(images.map(([, ref]) => ref));
    const script = manifests.apply((refs) =>
      imageIndexScript({
        app: args.app,
        indexTag,
        manifests: refs,
        registry: args.registry,
        insecure: args.registry.insecure ?? false,
      }),
    );
    const stdin = pulumi.output(args.pushToken as pulumi.Input<string>).apply((token) => `${token}\n`);
    const index = new command.local.Command(
      `${name}-index`,
      deployerCommandArgs(script, stdin, [manifests]),
      {
        parent: this,
      },
    );
    return index.stdout.apply((out) => out.trim());
  }
}
