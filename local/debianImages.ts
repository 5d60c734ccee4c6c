/**
 * Images of real software the local stack and the tests build offline: a Debian root filesystem made
 * from Debian's packages (the build script of the hosts' root filesystems, so no maintainer script starts
 * anything on the machine), imported into an engine, with a small layer of our own on top. The root
 * filesystems are cached per package set under ~/.cache/hcloud-deploy/image-rootfs/.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chmod, copyFile, cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { run } from "./exec";
import { buildRootfs, HostRelease } from "./hostRootfs";
import type { EngineAddress, TestImage } from "./images";

const CACHE = path.join(
  process.env.HCLOUD_DEPLOY_CACHE ?? path.join(homedir(), ".cache", "hcloud-deploy"),
  "image-rootfs",
);
const BUILD_SCRIPT = path.join(__dirname, "hostRootfsBuild.sh");
const RELEASE: HostRelease = "trixie";
const POSTGRES_PACKAGES = ["postgresql"];
/** What the image's entrypoint and a `command` health check call. */
const POSTGRES_COMMANDS = ["sh", "psql", "pg_isready", "perl"];

/**
 * The entrypoint: makes the cluster on first start (an empty data directory, a volume), listening on
 * every address with password authentication from anywhere (POSTGRES_PASSWORD), then runs the server in
 * the foreground. SIGINT (the image's stop signal) is PostgreSQL's fast shutdown, which a `recreate` uses.
 */
const ENTRYPOINT = `#!/bin/sh
set -eu
bin=$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)
: "\${PGDATA:?}" "\${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chmod 0700 "$PGDATA"
  printf '%s\\n' "$POSTGRES_PASSWORD" >/tmp/pwfile
  "$bin/initdb" --username=postgres --pwfile=/tmp/pwfile --auth-host=scram-sha-256 --auth-local=trust -D "$PGDATA" >/dev/null
  rm -f /tmp/pwfile
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  printf 'host all all 0.0.0.0/0 scram-sha-256\\nhost all all ::/0 scram-sha-256\\n' >>"$PGDATA/pg_hba.conf"
  echo "initialised a new cluster in $PGDATA"
fi
exec "$bin/postgres" -D "$PGDATA" -k /tmp
`;

function rootfsKey(packages: readonly string[]): string {
  const hash = createHash("sha256");
  hash.update(`${RELEASE}\n${[...packages].sort().join(" ")}\n${readFileSync(BUILD_SCRIPT, "utf8")}`);
  return hash.digest("hex").slice(0, 12);
}

type Log = (line: string) => void;
const stderrLog: Log = (line) => process.stderr.write(`${line}\n`);

/** PostgreSQL from Debian 13's packages, as an image: `version` goes into /etc/hcd-version (a new digest). */
export async function buildPostgresImage(
  engine: EngineAddress,
  tag: string,
  version: string,
  log: Log = stderrLog,
): Promise<TestImage> {
  const base = await postgresBase(engine, log);
  const context = await mkdtemp(path.join(tmpdir(), "hcd-postgres-"));
  try {
    await writeFile(path.join(context, "entrypoint"), ENTRYPOINT);
    await chmod(path.join(context, "entrypoint"), 0o755);
    await writeFile(path.join(context, "version"), `${version}\n`);
    await writeFile(
      path.join(context, "Dockerfile"),
      [
        `FROM ${base}`,
        "COPY entrypoint /usr/local/bin/hcd-postgres",
        "COPY version /etc/hcd-version",
        "ENV PGDATA=/var/lib/postgresql/data/pgdata LANG=C.UTF-8",
        "USER postgres",
        "STOPSIGNAL SIGINT",
        "EXPOSE 5432",
        'ENTRYPOINT ["/usr/local/bin/hcd-postgres"]',
        "",
      ].join("\n"),
    );
    return await buildContext(engine, context, tag);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/**
 * An app on PostgreSQL's client (psql), as apps/api's Dockerfile builds it from Debian's packages: the
 * database image's file system (its layer is shared with the database on a host), busybox httpd serving
 * `<context>/www` (CGI scripts included) on `port` as nobody, and `<context>/migrate`, `pgenv` and `report` in
 * /usr/local/bin.
 */
export async function buildPostgresClientImage(
  engine: EngineAddress,
  opts: { tag: string; context: string; port: number },
  log: Log = stderrLog,
): Promise<TestImage> {
  const base = await postgresBase(engine, log);
  const context = await mkdtemp(path.join(tmpdir(), "hcd-psql-app-"));
  try {
    await cp(path.join(opts.context, "www"), path.join(context, "www"), { recursive: true });
    for (const file of ["migrate", "pgenv", "report"])
      await copyFile(path.join(opts.context, file), path.join(context, file));
    await copyFile("/bin/busybox", path.join(context, "busybox"));
    await writeFile(
      path.join(context, "Dockerfile"),
      [
        `FROM ${base}`,
        "COPY busybox /usr/local/bin/busybox",
        "COPY www /www",
        "COPY migrate pgenv report /usr/local/bin/",
        "ENV LANG=C.UTF-8",
        "USER 65534",
        `EXPOSE ${opts.port}`,
        `CMD ["busybox", "httpd", "-f", "-v", "-p", "${opts.port}", "-h", "/www"]`,
        "",
      ].join("\n"),
    );
    return await buildContext(engine, context, opts.tag);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

function dockerEnv(engine: EngineAddress): NodeJS.ProcessEnv {
  return { ...process.env, DOCKER_HOST: engine.dockerHost, DOCKER_BUILDKIT: "0" };
}

async function buildContext(engine: EngineAddress, context: string, tag: string): Promise<TestImage> {
  const idFile = path.join(context, "image-id");
  await run("docker", ["build", "--quiet", "--iidfile", idFile, "--tag", tag, context], {
    env: dockerEnv(engine),
  });
  return { id: (await readFile(idFile, "utf8")).trim(), tag };
}

/** The imported root file system both PostgreSQL images start from (built and imported once). */
async function postgresBase(engine: EngineAddress, log: Log): Promise<string> {
  const key = rootfsKey(POSTGRES_PACKAGES);
  const dir = path.join(CACHE, "postgres", `${RELEASE}-${key}`);
  if (!existsSync(path.join(dir, "versions"))) {
    await buildRootfs(
      {
        release: RELEASE,
        dir,
        packages: POSTGRES_PACKAGES,
        commands: POSTGRES_COMMANDS,
        label: "postgres image",
      },
      log,
    );
  }
  const env = dockerEnv(engine);
  const base = `hcd-base/postgres:${key}`;
  const present = await run("docker", ["image", "inspect", base], { env, check: false });
  if (present.code !== 0) {
    // Left out: the cluster the package made while it was installed (each start makes its own), apt's
    // caches, documentation and translations, and LLVM, which only PostgreSQL's optional JIT loads (without
    // it the server runs with jit off): about half of the file system.
    const excluded = [
      "./var/lib/postgresql/*",
      "./var/cache/apt/*",
      "./usr/share/doc/*",
      "./usr/share/man/*",
      "./usr/share/locale/*",
      "./usr/lib/x86_64-linux-gnu/libLLVM*",
      "./usr/lib/postgresql/*/lib/llvmjit*",
      "./usr/lib/postgresql/*/lib/bitcode",
    ];
    await run(
      "bash",
      [
        "-c",
        'root=$1 base=$2; shift 2; tar -C "$root" "${@/#/--exclude=}" -c . | docker import - "$base" >/dev/null',
        "import",
        path.join(dir, "root"),
        base,
        ...excluded,
      ],
      { env },
    );
  }
  return base;
}
