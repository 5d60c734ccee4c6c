/**
 * Which platform a host runs and so which image it gets. Hetzner names its Arm (Ampere Altra) types
 * `cax…`; all others are x86. The rule needs no network, so CI's build matrix can use it too; the preflight
 * checks it against the live catalog's `architecture`, so a new naming would stop a preview, not a deploy.
 */
export const PLATFORMS = ["linux/amd64", "linux/arm64"] as const;
/** An OCI platform as `docker build --platform` and image indexes spell it (os/architecture). */
export type Platform = (typeof PLATFORMS)[number];

const ARM_SERVER_TYPE = /^cax\d/;

export function platformOfServerType(serverType: string): Platform {
  return ARM_SERVER_TYPE.test(serverType) ? "linux/arm64" : "linux/amd64";
}

/** The Hetzner catalog's name of a platform's architecture. */
export function catalogArchitectureOf(platform: Platform): "x86" | "arm" {
  return platform === "linux/arm64" ? "arm" : "x86";
}

/** The platforms a set of hosts needs, in PLATFORMS order (amd64 first), without repeats. */
export function platformsOf(platforms: Iterable<Platform>): Platform[] {
  const wanted = new Set(platforms);
  return PLATFORMS.filter((p) => wanted.has(p));
}

/**
 * What the names of a platform's resources and tags end with: nothing for linux/amd64, so that the names
 * of a stack from before ARM hosts stay as they were (and nothing is replaced); `-arm64` for linux/arm64.
 */
export function platformSuffix(platform: Platform): string {
  return platform === "linux/amd64" ? "" : `-${platform.split("/")[1]}`;
}
