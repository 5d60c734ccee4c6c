import {
  hostRootfsKey,
  hostRootfsPackages,
  hostsLine,
  parseHostRelease,
  parseVersions,
  releaseOfImage,
  upstreamVersion,
} from "../../../local/hostRootfs";

describe("hostRootfsPackages", () => {
  test("Hetzner's image, the cloud-init's packages and the harness's, sorted; trixie adds docker-cli", () => {
    const common = [
      "ca-certificates",
      "caddy",
      "containerd",
      "curl",
      "docker.io",
      "e2fsprogs",
      "hostname",
      "iproute2",
      "iptables",
      "openssh-client",
      "openssh-server",
      "procps",
      "systemd",
      "tini",
      "unattended-upgrades",
      "zstd",
    ];
    expect(hostRootfsPackages("bookworm")).toEqual(common);
    expect(hostRootfsPackages("trixie")).toEqual([...common, "docker-cli"].sort());
  });
});

describe("hostRootfsKey", () => {
  const packages = ["caddy", "docker.io"];

  test("12 hex digits, the same for the same packages in any order", () => {
    const key = hostRootfsKey("trixie", packages, "recipe");
    expect(key).toMatch(/^[0-9a-f]{12}$/);
    expect(hostRootfsKey("trixie", [...packages].reverse(), "recipe")).toBe(key);
  });

  test.each([
    ["another release", hostRootfsKey("bookworm", packages, "recipe")],
    ["another package set", hostRootfsKey("trixie", [...packages, "jq"], "recipe")],
    ["another recipe", hostRootfsKey("trixie", packages, "recipe 2")],
  ])("%s gives another key", (_what, other) => {
    expect(other).not.toBe(hostRootfsKey("trixie", packages, "recipe"));
  });
});

describe("versions", () => {
  const written = "caddy 2.6.2-12+deb13u1\ndocker.io 26.1.5+dfsg1-9+deb13u1+b1\ndebian 13.8\n";

  test("parseVersions reads the build's lines", () => {
    expect(parseVersions(written)).toEqual({
      caddy: "2.6.2-12+deb13u1",
      "docker.io": "26.1.5+dfsg1-9+deb13u1+b1",
      debian: "13.8",
    });
  });

  test.each([
    ["26.1.5+dfsg1-9+deb13u1+b1", "26.1.5"],
    ["20.10.24+dfsg1-1+deb12u1+b6", "20.10.24"],
    ["2.6.2-5", "2.6.2"],
    ["1:10.0p1-7+deb13u4", "10.0p1"],
    ["1.7.24~ds1-6+deb13u1", "1.7.24"],
    ["0.19.0", "0.19.0"],
  ])("upstreamVersion(%s) is %s", (version, upstream) => {
    expect(upstreamVersion(version)).toBe(upstream);
  });

  test("hostsLine names the release, docker and caddy", () => {
    expect(hostsLine({ release: "trixie", versions: parseVersions(written) })).toBe(
      "hosts: trixie root filesystem, docker 26.1.5, caddy 2.6.2",
    );
  });
});

describe("releases", () => {
  test.each([
    ["debian-12", "bookworm"],
    ["debian-13", "trixie"],
  ])("%s boots %s", (image, release) => {
    expect(releaseOfImage(image)).toBe(release);
  });

  test("another image is refused in one line", () => {
    expect(() => releaseOfImage("ubuntu-24.04")).toThrow(
      new Error('simulated hosts boot debian-12 or debian-13, not "ubuntu-24.04"'),
    );
  });

  test("parseHostRelease takes a release or nothing, and names the variable otherwise", () => {
    expect(parseHostRelease("bookworm", "HCD_HOST_RELEASE")).toBe("bookworm");
    expect(parseHostRelease(undefined, "HCD_HOST_RELEASE")).toBeUndefined();
    expect(parseHostRelease("", "HCD_HOST_RELEASE")).toBeUndefined();
    expect(() => parseHostRelease("debian-13", "HCD_HOST_RELEASE")).toThrow(
      new Error('HCD_HOST_RELEASE must be bookworm or trixie, not "debian-13"'),
    );
  });
});
