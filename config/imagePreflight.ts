/**
 * Whether each prebuilt image can run on every host of its app: an arm64 host needs an arm64 image, which
 * an index (manifest list) offers beside amd64 and a single-platform image does not. Pure: the image's
 * platforms come in, as readImagePlatforms read them.
 */
import { Platform, platformsOf } from "../components/platforms";
import type { ImagePlatforms } from "./registryImage";

/** A host of the app, as the preflight knows it. */
export interface ImageHost {
  readonly name: string;
  readonly serverType: string;
  readonly platform: Platform;
}

export interface ImageCheck {
  /** One line per host whose platform the image lacks. */
  readonly errors: string[];
  /** Per platform the hosts run: the digest reference of its image. */
  readonly refs: Partial<Record<Platform, string>>;
}

export function checkImagePlatforms(
  app: string,
  hosts: readonly ImageHost[],
  image: ImagePlatforms,
): ImageCheck {
  const offered = Object.keys(image.platforms).sort();
  const what = image.index
    ? `is an index of ${offered.join(", ") || "no platform"}`
    : `is ${offered.join(", ")} only`;
  const errors = hosts
    .filter((h) => image.platforms[h.platform] === undefined)
    .map(
      (h) =>
        `app ${app}: image ${image.ref} ${what}; host ${h.name} (${h.serverType}) runs ${h.platform}: ` +
        `push an index with every platform its hosts run (docker buildx build --platform ${platformsOf(hosts.map((x) => x.platform)).join(",")} --push) or put ${app} on hosts of its platform`,
    );
  const refs = Object.fromEntries(
    platformsOf(hosts.map((h) => h.platform))
      .filter((p) => image.platforms[p] !== undefined)
      .map((p) => [p, image.platforms[p]]),
  );
  return { errors, refs };
}
