import { randomBytes } from "node:crypto";
import { copyFile, cp, mkdir, mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { imageIndexScript } from "../components/shell/imageIndex";
import { DockerEngine } from "./dockerd";
import { run } from "./exec";
import { LocalRegistry } from "./registry";

/** All the image helpers need of an engine: where it listens. */
export type EngineAddress = Pick<DockerEngine, "dockerHost">;

export interface TestImage {
  /** "sha256:…" */
  readonly id: string;
  /** The reference it was built as, e.g. "hcd-test/web:v1". */
  readonly tag: string;
}

/** What buildHttpImage can build for; an arm64 image runs under qemu through binfmt_misc here. */
export type ImagePlatform = "linux/amd64" | "linux/arm64";

export interface HttpImageOptions {
  tag: string;
  /** The image's platform (its config's os/architecture) and its busybox's; default linux/amd64. */
  platform?: ImagePlatform;
  /** The whole body of GET / (index.html); or use `siteDir`. */
  version?: string;
  /** A directory served as the site root instead of the one-file `version` site. */
  siteDir?: string;
  /** Port busybox httpd listens on inside the container; default 8080. */
  port?: number;
  /** Adds a layer of this many MiB of random (incompressible) data, for transfer-size tests. */
  paddingMiB?: number;
  /** Seconds the container waits before httpd listens (an app that is slow to start); default 0. */
  startDelaySeconds?: number;
  /**
   * Adds GET /cgi-bin/slow, which answers after this many seconds (a request in flight), or as many as
   * its query says (`/cgi-bin/slow?8`); default none.
   */
  slowRequestSeconds?: number;
  /** Adds GET /cgi-bin/machine, which answers `uname -m` as the container sees it; default none. */
  machineCgi?: boolean;
  /** Adds GET /cgi-bin/hostname, which answers the container's host name (its ID); default none. */
  hostnameCgi?: boolean;
  /**
   * Keeps rows in this directory (a volume), one file each in rows.d/: GET /cgi-bin/rows answers how many
   * there are, GET /cgi-bin/add writes one more and answers the new count (HTTP 500 with the error when it
   * cannot); default none.
   */
  dataDir?: string;
  /** The image's USER (e.g. "1000:1000"); default root. */
  user?: string;
}

/** Debian's busybox-static:arm64, extracted there by scripts/setup-machine.sh (same cache as the toolchain). */
export const ARM64_BUSYBOX = path.join(
  process.env.HCLOUD_DEPLOY_CACHE ?? path.join(homedir(), ".cache", "hcloud-deploy"),
  "busybox-arm64",
  "busybox",
);

// Static, so it is the only file the image needs: nothing can be pulled here, images start FROM scratch.
// The machine is amd64, so its own busybox-static is the amd64 one.
const BUSYBOX: Record<ImagePlatform, string> = {
  "linux/amd64": "/bin/busybox",
  "linux/arm64": ARM64_BUSYBOX,
};
const MIB = 1024 * 1024;

export async function buildHttpImage(engine: EngineAddress, opts: HttpImageOptions): Promise<TestImage> {
  const port = opts.port ?? 8080;
  const platform = opts.platform ?? "linux/amd64";
  const busybox = BUSYBOX[platform];
  const dir = await mkdtemp(path.join(tmpdir(), "hcd-image-"));
  try {
    const context = path.join(dir, "context");
    await mkdir(context, { recursive: true });
    if (opts.siteDir !== undefined) {
      await cp(opts.siteDir, path.join(context, "www"), { recursive: true });
    } else {
      await mkdir(path.join(context, "www"));
      await writeFile(path.join(context, "www", "index.html"), opts.version ?? "");
    }
    await copyFile(busybox, path.join(context, "busybox")).catch((err: Error) => {
      throw new Error(`Cannot copy ${busybox} (run scripts/setup-machine.sh): ${err.message}`);
    });
    if (opts.slowRequestSeconds !== undefined) {
      await writeCgi(context, "slow", [
        // Digits only: the query is the CGI's QUERY_STRING, never run as more than a number.
        `case "$QUERY_STRING" in "" | *[!0-9]*) seconds=${opts.slowRequestSeconds} ;; *) seconds=$QUERY_STRING ;; esac`,
        '/bin/busybox sleep "$seconds"',
        `printf 'Content-Type: text/plain\\r\\n\\r\\nslow %s' ${JSON.stringify(opts.version ?? "")}`,
      ]);
    }
    if (opts.machineCgi === true) {
      await writeCgi(context, "machine", [
        "printf 'Content-Type: text/plain\\r\\n\\r\\n%s' \"$(/bin/busybox uname -m)\"",
      ]);
    }
    if (opts.hostnameCgi === true) {
      await writeCgi(context, "hostname", [
        "printf 'Content-Type: text/plain\\r\\n\\r\\n%s' \"$(/bin/busybox hostname)\"",
      ]);
    }
    if (opts.dataDir !== undefined) {
      // One file per row, written under a temporary name and renamed once complete, as a database
      // commits: a full disk fails the write instead of appending to a page that still has room.
      const dir = `${opts.dataDir}/rows.d`;
      const count = `$(/bin/busybox ls ${dir} 2>/dev/null | /bin/busybox grep -c '^row')`;
      await writeCgi(context, "rows", [`printf 'Content-Type: text/plain\\r\\n\\r\\n%s' "${count}"`]);
      await writeCgi(context, "add", [
        `if ! err=$( { /bin/busybox mkdir -p ${dir} && f=$(/bin/busybox mktemp ${dir}/.new.XXXXXX) && echo "row $$" >"$f" && /bin/busybox mv "$f" "${dir}/row.\${f##*.}"; } 2>&1); then`,
        `  /bin/busybox rm -f ${dir}/.new.*`,
        `  printf 'Status: 500\\r\\nContent-Type: text/plain\\r\\n\\r\\n%s' "$err"; exit 0`,
        "fi",
        `printf 'Content-Type: text/plain\\r\\n\\r\\n%s' "${count}"`,
      ]);
    }
    // -v: one log line per request, so `npm run logs` has something to show.
    const httpd = ["/bin/busybox", "httpd", "-f", "-v", "-p", String(port), "-h", "/www"];
    const entrypoint =
      (opts.startDelaySeconds ?? 0) > 0
        ? [
            "/bin/busybox",
            "sh",
            "-c",
            `/bin/busybox sleep ${opts.startDelaySeconds}; exec ${httpd.join(" ")}`,
          ]
        : httpd;
    const padding = opts.paddingMiB ?? 0;
    if (padding > 0) await writeRandomFile(path.join(context, "padding"), padding);
    await writeFile(
      path.join(context, "Dockerfile"),
      [
        "FROM scratch",
        "COPY busybox /bin/busybox",
        "COPY www /www",
        ...(padding > 0 ? ["COPY padding /padding"] : []),
        ...(opts.user !== undefined ? [`USER ${opts.user}`] : []),
        `EXPOSE ${port}`,
        `ENTRYPOINT ${JSON.stringify(entrypoint)}`,
        "",
      ].join("\n"),
    );
    const idFile = path.join(dir, "image-id");
    // Docker 20.10's classic builder takes --platform, and the config records it. Each step's container
    // then warns that the platform is not the engine's (--quiet hides it); nothing runs, as there is no RUN.
    await run(
      "docker",
      ["build", "--quiet", "--platform", platform, "--iidfile", idFile, "--tag", opts.tag, context],
      { env: dockerEnv(engine) },
    );
    return { id: (await readFile(idFile, "utf8")).trim(), tag: opts.tag };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type RegistryLogin = Pick<LocalRegistry, "host" | "user" | "password">;

/** Pushes `image` to `registry` as <registry.host>/<repository>:<tag>; returns that reference. */
export async function pushImage(
  engine: EngineAddress,
  image: TestImage,
  registry: RegistryLogin,
  repository: string,
  tag = "latest",
): Promise<string> {
  const reference = `${registry.host}/${repository}:${tag}`;
  await withLogin(engine, registry, async (env) => {
    await run("docker", ["tag", image.id, reference], { env });
    await run("docker", ["push", reference], { env });
  });
  return reference;
}

/**
 * Pushes an index over platform images already in `registry` and returns its digest reference, with the
 * very script `pulumi up` runs for a build of several platforms (components/shell/imageIndex.ts).
 */
export async function pushIndex(
  engine: EngineAddress,
  registry: RegistryLogin,
  repository: string,
  tag: string,
  platformRefs: string[],
): Promise<string> {
  const script = imageIndexScript({
    app: repository,
    indexTag: `${registry.host}/${repository}:${tag}`,
    manifests: platformRefs,
    registry: { server: registry.host, username: registry.user },
    // The registry is plain HTTP, and `docker manifest` does not read the engine's insecure registries.
    insecure: true,
  });
  // The script logs in to a throwaway client config of its own, never the machine's ~/.docker.
  const pushed = await run("bash", ["-c", script], {
    env: dockerEnv(engine),
    input: `${registry.password}\n`,
  });
  return pushed.stdout.trim();
}

/** Runs `fn` with a client logged in to `registry`; the credential goes to a throwaway client config. */
async function withLogin<T>(
  engine: EngineAddress,
  registry: RegistryLogin,
  fn: (env: NodeJS.ProcessEnv) => Promise<T>,
): Promise<T> {
  // Never the machine's ~/.docker.
  const dockerConfig = await mkdtemp(path.join(tmpdir(), "hcd-docker-config-"));
  try {
    const env = { ...dockerEnv(engine), DOCKER_CONFIG: dockerConfig };
    await run("docker", ["login", "--username", registry.user, "--password-stdin", registry.host], {
      env,
      input: registry.password,
    });
    return await fn(env);
  } finally {
    await rm(dockerConfig, { recursive: true, force: true });
  }
}

/** A CGI script for busybox httpd: the lines run by the image's busybox sh. */
async function writeCgi(context: string, name: string, lines: string[]): Promise<void> {
  await mkdir(path.join(context, "www", "cgi-bin"), { recursive: true });
  const script = ["#!/bin/busybox sh", ...lines, ""].join("\n");
  await writeFile(path.join(context, "www", "cgi-bin", name), script, { mode: 0o755 });
}

function dockerEnv(engine: EngineAddress): NodeJS.ProcessEnv {
  // The classic builder needs neither the network nor the buildx plugin, and Docker 20.10 has it.
  return { ...process.env, DOCKER_HOST: engine.dockerHost, DOCKER_BUILDKIT: "0" };
}

async function writeRandomFile(file: string, mebibytes: number): Promise<void> {
  const handle = await open(file, "w");
  try {
    for (let i = 0; i < mebibytes; i++) await handle.write(randomBytes(MIB));
  } finally {
    await handle.close();
  }
}
