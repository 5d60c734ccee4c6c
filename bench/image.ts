/**
 * The benchmark's image, built offline on the deployer engine. Full: a Debian minbase layer
 * (debootstrap), a python3 layer (the files python3 adds to it, from Debian's packages) and a small app
 * layer; the two root filesystems are cached under ~/.cache/hcloud-deploy/bench. Quick: shared
 * libraries of this machine in their place, nothing to download.
 */
import { existsSync } from "node:fs";
import {
  copyFile,
  cp,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { run } from "../local/exec";

export const CACHE = path.join(
  process.env.HCLOUD_DEPLOY_CACHE ?? path.join(homedir(), ".cache", "hcloud-deploy"),
  "bench",
);
const MIRROR = "http://deb.debian.org/debian";
const SUITE = "bookworm";

/** Each build step with what it is for; the bench prints them. */
export type Log = (line: string) => void;

/** A Debian minbase root filesystem (with extra packages), from the cache or debootstrap. */
async function rootfs(name: string, include: string[], log: Log): Promise<string> {
  const dir = path.join(CACHE, name);
  if (existsSync(path.join(dir, "etc", "debian_version"))) return dir;
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(path.join(CACHE, "debs"), { recursive: true });
  log(`debootstrap ${SUITE} minbase${include.length ? ` + ${include.join(", ")}` : ""} (cached in ${dir})`);
  const extra = include.length ? [`--include=${include.join(",")}`] : [];
  await run("debootstrap", [
    "--variant=minbase",
    ...extra,
    `--cache-dir=${path.join(CACHE, "debs")}`,
    SUITE,
    tmp,
    MIRROR,
  ]);
  // What Docker's own Debian images leave out: package lists and caches.
  await run("bash", ["-c", 'rm -rf "$0"/var/lib/apt/lists/* "$0"/var/cache/apt/* "$0"/var/log/*.log', tmp]);
  await rename(tmp, dir);
  return dir;
}

/** Copies into `out` what `upper` adds to or changes in `lower`: the layer a package installation makes. */
export async function diffTree(lower: string, upper: string, out: string, rel = ""): Promise<number> {
  let bytes = 0;
  for (const name of await readdir(path.join(upper, rel))) {
    const entry = path.join(rel, name);
    const [mine, theirs] = await Promise.all([
      lstat(path.join(upper, entry)),
      lstat(path.join(lower, entry)).catch(() => undefined),
    ]);
    if (mine.isDirectory()) {
      bytes += await diffTree(lower, upper, out, entry);
    } else if (mine.isSymbolicLink()) {
      const target = await readlink(path.join(upper, entry));
      if (!theirs?.isSymbolicLink() || (await readlink(path.join(lower, entry))) !== target) {
        await mkdir(path.join(out, rel), { recursive: true });
        await symlink(target, path.join(out, entry));
      }
    } else if (mine.isFile()) {
      const same =
        theirs?.isFile() &&
        theirs.size === mine.size &&
        (await readFile(path.join(upper, entry))).equals(await readFile(path.join(lower, entry)));
      if (!same) {
        await mkdir(path.join(out, rel), { recursive: true });
        await copyFile(path.join(upper, entry), path.join(out, entry));
        bytes += mine.size;
      }
    }
  }
  return bytes;
}

/** Shared libraries of this machine (none over 4 MiB), `mib` MiB after the first `skipMiB`: stand-ins. */
async function libraries(out: string, skipMiB: number, mib: number): Promise<void> {
  const source = "/usr/lib/x86_64-linux-gnu";
  await mkdir(out, { recursive: true });
  let seen = 0;
  for (const name of (await readdir(source)).sort()) {
    const info = await lstat(path.join(source, name));
    if (!info.isFile() || !name.includes(".so") || info.size > 4 * 2 ** 20) continue;
    seen += info.size;
    if (seen <= skipMiB * 2 ** 20) continue;
    if (seen > (skipMiB + mib) * 2 ** 20) return;
    await copyFile(path.join(source, name), path.join(out, name));
  }
}

export interface BenchImages {
  /** Local tags: v1, v2 (one file changed in the app layer), and the base every app version shares. */
  readonly v1: string;
  readonly v2: string;
  /** Builds v2 plus a new top layer of `mib` MiB of random data, tagged `tag`. */
  newLayer(tag: string, mib: number): Promise<string>;
}

/** Builds the images on the engine at `dockerHost`; `context` is a scratch directory. */
export async function buildBenchImages(
  dockerHost: string,
  context: string,
  quick: boolean,
  log: Log,
): Promise<BenchImages> {
  const env = { ...process.env, DOCKER_HOST: dockerHost, DOCKER_BUILDKIT: "0" };
  const docker = (...args: string[]) => run("docker", args, { env });
  await mkdir(context, { recursive: true });
  let stdlib = "/usr/lib/python3.11";
  if (quick) {
    await libraries(path.join(context, "base"), 0, 24);
    await libraries(path.join(context, "python"), 24, 8);
    await copyFile("/bin/busybox", path.join(context, "base", "busybox"));
    await writeFile(path.join(context, "Dockerfile.base"), "FROM scratch\nCOPY base /\n");
    await docker(
      "build",
      "-q",
      "-f",
      path.join(context, "Dockerfile.base"),
      "-t",
      "bench/base:latest",
      context,
    );
  } else {
    const minbase = await rootfs("minbase", [], log);
    const python = await rootfs("python", ["python3"], log);
    stdlib = path.join(python, "usr", "lib", "python3.11");
    log("the python3 layer: what python3 adds to minbase");
    await diffTree(minbase, python, path.join(context, "python"));
    await run("bash", ["-c", 'tar -C "$0" -c . | docker import - bench/base:latest > /dev/null', minbase], {
      env,
    });
  }
  // The app: a small server plus vendored modules, about 400 kB, as an app layer usually is.
  const app = path.join(context, "app");
  await mkdir(path.join(app, "vendor"), { recursive: true });
  for (const module of ["json", "http", "html"]) {
    const source = path.join(stdlib, module);
    if (existsSync(source))
      await cp(source, path.join(app, "vendor", module), {
        recursive: true,
        filter: (f) => !f.includes("__pycache__"),
      });
  }
  await writeFile(
    path.join(context, "Dockerfile"),
    'FROM bench/base:latest\nCOPY python/ /\nCOPY app/ /srv/app/\nCMD ["python3", "/srv/app/server.py"]\n',
  );
  const build = async (tag: string, version: string) => {
    await writeFile(
      path.join(app, "server.py"),
      `# ${version}\nimport http.server\nhttp.server.test(port=8080)\n`,
    );
    await docker("build", "-q", "-t", tag, context);
    return tag;
  };
  const v1 = await build("bench/app:v1", "v1");
  const v2 = await build("bench/app:v2", "v2");
  return {
    v1,
    v2,
    newLayer: async (tag, mib) => {
      const dir = path.join(context, `layer-${tag.replace(/\W/g, "-")}`);
      await mkdir(dir, { recursive: true });
      await run("bash", ["-c", `head -c ${mib}M /dev/urandom > "$0/data"`, dir]);
      await writeFile(path.join(dir, "Dockerfile"), `FROM ${v2}\nCOPY data /srv/data\n`);
      await docker("build", "-q", "-t", tag, dir);
      return tag;
    },
  };
}
