// The pack stage on every layout `docker save` writes: a legacy save built here (with a layer that occurs
// twice, which that layout stores as a symlink), and its OCI and compressed-blob conversions. The
// integration test runs the same on a real save and loads the result on a host.
import { execFileSync, spawnSync } from "child_process";
import { createHash } from "crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import path from "path";
import { packFunction } from "../../../components/shell/pack";
import { convertSave } from "../support/saveLayouts";

let work: string;
const layouts: Record<string, { dir: string; config: string; layers: string[] }> = {};
const layerTars: Buffer[] = [];

function layerTar(name: string, content: string): Buffer {
  const dir = path.join(work, "rootfs", name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, name), content);
  return execFileSync("tar", ["-c", "-C", dir, "--owner=0", "--group=0", "--mtime=@0", name]);
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), "hcd-pack-"));
  const legacy = path.join(work, "legacy");
  mkdirSync(legacy);
  layerTars.push(layerTar("base", "base layer"), layerTar("python", "python layer"));
  const sha = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");
  const diffIds = [...layerTars, layerTars[0]].map((tar) => `sha256:${sha(tar)}`);
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: diffIds },
  });
  writeFileSync(path.join(legacy, `${sha(config)}.json`), config);
  const ids = ["1a", "2b", "3c"].map((prefix) => prefix + "0".repeat(62));
  layerTars.forEach((tar, i) => {
    mkdirSync(path.join(legacy, ids[i]));
    writeFileSync(path.join(legacy, ids[i], "layer.tar"), tar);
  });
  // The third layer is the first one again: the legacy layout links to it.
  mkdirSync(path.join(legacy, ids[2]));
  symlinkSync(`../${ids[0]}/layer.tar`, path.join(legacy, ids[2], "layer.tar"));
  const manifest = {
    Config: `${sha(config)}.json`,
    RepoTags: ["app:v1"],
    Layers: ids.map((id) => `${id}/layer.tar`),
  };
  writeFileSync(path.join(legacy, "manifest.json"), JSON.stringify([manifest]));
  layouts.legacy = { dir: legacy, config: manifest.Config, layers: manifest.Layers };
  for (const [name, compress] of [
    ["oci", false],
    ["oci-gzip", true],
  ] as const) {
    const dir = path.join(work, name);
    const converted = convertSave(legacy, dir, compress);
    layouts[name] = { dir, config: converted.Config, layers: converted.Layers };
  }
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

function pack(dir: string, skip: number | string) {
  const script = `set -o pipefail\n${packFunction()}pack_layers "$1" "$2" > "$3"`;
  const out = path.join(work, "pack.tar");
  const result = spawnSync("bash", ["-c", script, "pack", dir, String(skip), out], { encoding: "utf8" });
  const listing =
    result.status === 0 ? execFileSync("tar", ["-tvf", out], { encoding: "utf8" }).trim().split("\n") : [];
  return { status: result.status, stderr: result.stderr, listing, out };
}

describe.each(["legacy", "oci", "oci-gzip"])("the %s layout", (name) => {
  // "… name" or, for a file tar has already stored, "… name link to first-name".
  const entries = (listing: string[]) => listing.map((line) => line.split(" link to ")[0].split(/\s+/).pop());

  test.each([
    [0, [0, 1, 2]],
    [1, [1, 2]],
    [2, [2]],
    [3, []],
  ])("a host holding %i layers gets the manifest, the config and layers %j", (skip, sent) => {
    const layout = layouts[name];
    const result = pack(layout.dir, skip);
    expect([result.status, result.stderr]).toEqual([0, ""]);
    // A layer that occurs twice is one blob in the OCI layouts: it goes once.
    const expected = [...new Set(sent.map((i) => layout.layers[i]))];
    expect(entries(result.listing)).toEqual(["manifest.json", layout.config, ...expected]);
    // No symlinks: the legacy layout's link is stored as the layer itself, or as a hard link to it when
    // the layer it points to is in the archive too (docker load unpacks both).
    for (const line of result.listing) expect(["-", "h"]).toContain(line[0]);
  });

  test("the packed manifest and layers are the save's own bytes", () => {
    const layout = layouts[name];
    const result = pack(layout.dir, 2);
    const unpacked = path.join(work, `unpacked-${name}`);
    mkdirSync(unpacked, { recursive: true });
    execFileSync("tar", ["-xf", result.out, "-C", unpacked]);
    expect(readFileSync(path.join(unpacked, "manifest.json"))).toEqual(
      readFileSync(path.join(layout.dir, "manifest.json")),
    );
    expect(readFileSync(path.join(unpacked, layout.layers[2]))).toEqual(
      readFileSync(path.join(layout.dir, layout.layers[2])),
    );
  });

  test.each([
    [4, "pack: cannot skip 4 of 3 layers"],
    ["x", "pack: cannot skip x of 3 layers"],
  ])("skipping %j layers fails with %j", (skip, message) => {
    const result = pack(layouts[name].dir, skip);
    expect(result.status).not.toBe(0);
    expect(result.stderr.trim()).toBe(message);
  });
});

test("a directory that is not one image's save fails with one line", () => {
  const broken = path.join(work, "broken");
  mkdirSync(broken);
  writeFileSync(
    path.join(broken, "manifest.json"),
    JSON.stringify([{ Config: "c.json", Layers: ["a"] }, {}]),
  );
  const result = pack(broken, 0);
  expect(result.status).not.toBe(0);
  expect(result.stderr.trim()).toBe("pack: manifest.json must describe one image");
});
