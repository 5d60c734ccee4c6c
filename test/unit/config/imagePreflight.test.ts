import { checkImagePlatforms, ImageHost } from "../../../config/imagePreflight";
import type { ImagePlatforms } from "../../../config/registryImage";

const REPO = "ghcr.io/o/web";
const digest = (c: string) => `${REPO}@sha256:${c.repeat(64)}`;
const x86: ImageHost = { name: "web-1", serverType: "cx23", platform: "linux/amd64" };
const arm: ImageHost = { name: "web-2", serverType: "cax11", platform: "linux/arm64" };
const single = (platform: string): ImagePlatforms => ({
  ref: digest("a"),
  index: false,
  platforms: { [platform]: digest("a") },
});
const index: ImagePlatforms = {
  ref: digest("i"),
  index: true,
  platforms: { "linux/amd64": digest("b"), "linux/arm64": digest("c"), "linux/s390x": digest("d") },
};
const advice = (platforms: string) =>
  `push an index with every platform its hosts run (docker buildx build --platform ${platforms} --push) or put web on hosts of its platform`;

describe("checkImagePlatforms", () => {
  test.each<[string, ImageHost[], ImagePlatforms, string[], Record<string, string>]>([
    ["an amd64 image on an x86 host", [x86], single("linux/amd64"), [], { "linux/amd64": digest("a") }],
    [
      "an index on x86 and arm hosts",
      [x86, arm],
      index,
      [],
      { "linux/amd64": digest("b"), "linux/arm64": digest("c") },
    ],
    [
      "an amd64 image on an arm host",
      [x86, arm],
      single("linux/amd64"),
      [
        `app web: image ${digest("a")} is linux/amd64 only; host web-2 (cax11) runs linux/arm64: ${advice("linux/amd64,linux/arm64")}`,
      ],
      { "linux/amd64": digest("a") },
    ],
    [
      "an arm64 image on an x86 host",
      [x86],
      single("linux/arm64"),
      [
        `app web: image ${digest("a")} is linux/arm64 only; host web-1 (cx23) runs linux/amd64: ${advice("linux/amd64")}`,
      ],
      {},
    ],
    [
      "an index without arm64",
      [arm],
      { ...index, platforms: { "linux/amd64": digest("b") } },
      [
        `app web: image ${digest("i")} is an index of linux/amd64; host web-2 (cax11) runs linux/arm64: ${advice("linux/arm64")}`,
      ],
      {},
    ],
  ])("%s", (_, hosts, image, errors, refs) => {
    expect(checkImagePlatforms("web", hosts, image)).toEqual({ errors, refs });
  });
});
