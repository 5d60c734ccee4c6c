import { DEFAULT_HOST_RELEASE, HostRelease, IMAGE_RELEASES, parseHostRelease } from "../../local/hostRootfs";

/**
 * The Debian release the tests' own hosts boot (those a test starts itself; a server's host boots its
 * image's): HCD_HOST_RELEASE, bookworm or trixie, default trixie. Read here and nowhere else.
 */
export const TEST_HOST_RELEASE: HostRelease =
  parseHostRelease(process.env.HCD_HOST_RELEASE, "HCD_HOST_RELEASE") ?? DEFAULT_HOST_RELEASE;

/** The image whose servers boot TEST_HOST_RELEASE, for the tests that create servers through the API. */
export const TEST_HOST_IMAGE = Object.keys(IMAGE_RELEASES).find(
  (image) => IMAGE_RELEASES[image] === TEST_HOST_RELEASE,
) as string;
