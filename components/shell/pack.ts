/**
 * The pack stage: from an unpacked `docker save`, the archive of only the layers a host lacks. Layers[i]
 * of manifest.json carries the layer whose uncompressed digest is the config's rootfs.diff_ids[i]; a host
 * that holds the first k of them (the same chain, so the same chain IDs) needs Layers[k…] only. The
 * manifest and config always go: `docker load` on Docker's own image store skips the layers it holds
 * (moby PR 18727) and checks the result against the config. Works on every layout `docker save` writes:
 * legacy (`<id>/layer.tar`, duplicates as symlinks), OCI (Docker ≥ 25, `blobs/sha256/<hex>`) and the
 * compressed blobs of a containerd image store; the archive keeps the source's paths.
 */

// Runs under node on the deployer (it runs this Pulumi program, so it has one): argv = dir, k.
const LIST_ENTRIES = `
const fs = require("fs");
const path = require("path");
const [dir, skipText] = process.argv.slice(1);
const fail = (why) => { process.stderr.write("pack: " + why + "\\n"); process.exit(1); };
const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
if (!Array.isArray(manifest) || manifest.length !== 1) fail("manifest.json must describe one image");
const { Config, Layers } = manifest[0];
const config = JSON.parse(fs.readFileSync(path.join(dir, Config), "utf8"));
const diffIds = (config.rootfs || {}).diff_ids || [];
if (!Array.isArray(Layers) || Layers.length !== diffIds.length) fail("manifest layers do not match the config's diff_ids");
const skip = Number(skipText);
if (!Number.isInteger(skip) || skip < 0 || skip > Layers.length) fail("cannot skip " + skipText + " of " + Layers.length + " layers");
const entries = ["manifest.json", Config, ...new Set(Layers.slice(skip))];
process.stdout.write(entries.map((e) => e + "\\0").join(""));
`;

/**
 * Bash function `pack_layers <dir> <k>`: writes to stdout an uncompressed tar of the image unpacked in
 * <dir>, without its first k layers. Symlinked layers are stored as files. Fails (pipefail) when the
 * directory does not hold one image's `docker save`.
 */
export function packFunction(): string {
  return `pack_layers() {
  node -e '${LIST_ENTRIES.replace(/'/g, `'\\''`)}' "$1" "$2" | tar -c -h -C "$1" --null -T -
}
`;
}
