import { randomBytes } from "node:crypto";
import { copyFile, cp, mkdir, mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
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

export interface HttpImageOptions {
  tag: string;
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
  /** Adds GET /cgi-bin/slow, which answers after this many seconds (a request in flight); default none. */
  slowRequestSeconds?: number;
}

// Static, so it is the only file the image needs: nothing can be pulled here, images start FROM scratch.
const BUSYBOX = "/bin/busybox";
const MIB = 1024 * 1024;

export async function buildHttpImage(engine: EngineAddress, opts: HttpImageOptions): Promise<TestImage> {
  const port = opts.port ?? 8080;
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
    await copyFile(BUSYBOX, path.join(context, "busybox")).catch((err: Error) => {
      throw new Error(`Cannot copy ${BUSYBOX} (run scripts/setup-machine.sh): ${err.message}`);
    });
    if (opts.slowRequestSeconds !== undefined) {
      await mkdir(path.join(context, "www", "cgi-bin"), { recursive: true });
      const cgi = [
        "#!/bin/busybox sh",
        `/bin/busybox sleep ${opts.slowRequestSeconds}`,
        `printf 'Content-Type: text/plain\\r\\n\\r\\nslow %s' ${JSON.stringify(opts.version ?? "")}`,
        "",
      ].join("\n");
      await writeFile(path.join(context, "www", "cgi-bin", "slow"), cgi, { mode: 0o755 });
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
        `EXPOSE ${port}`,
        `ENTRYPOINT ${JSON.stringify(entrypoint)}`,
        "",
      ].join("\n"),
    );
    const idFile = path.join(dir, "image-id");
    await run("docker", ["build", "--quiet", "--iidfile", idFile, "--tag", opts.tag, context], {
      env: dockerEnv(engine),
    });
    return { id: (await readFile(idFile, "utf8")).trim(), tag: opts.tag };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Pushes `image` to `registry` as <registry.host>/<repository>:<tag>; returns that reference. */
export async function pushImage(
  engine: EngineAddress,
  image: TestImage,
  registry: Pick<LocalRegistry, "host" | "user" | "password">,
  repository: string,
  tag = "latest",
): Promise<string> {
  const reference = `${registry.host}/${repository}:${tag}`;
  // Credentials go to a throwaway client config, never to the machine's ~/.docker.
  const dockerConfig = await mkdtemp(path.join(tmpdir(), "hcd-docker-config-"));
  try {
    const env = { ...dockerEnv(engine), DOCKER_CONFIG: dockerConfig };
    await run("docker", ["login", "--username", registry.user, "--password-stdin", registry.host], {
      env,
      input: registry.password,
    });
    await run("docker", ["tag", image.id, reference], { env });
    await run("docker", ["push", reference], { env });
    return reference;
  } finally {
    await rm(dockerConfig, { recursive: true, force: true });
  }
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
