// A real database on a simulated host, with the very scripts `pulumi up` runs: PostgreSQL from Debian's
// packages (built offline) on a volume owned by its postgres user, rolled with `recreate` behind a
// `command` health check (pg_isready), its schema made by a release command from a client container on
// the apps' network. Rows survive a redeploy of the database, dockerd killed and a reboot; each case
// prints `data: <case>: rows before N, after N`. Needs root and setup-machine.sh; the first run builds
// the image's root filesystem (a minute or two, cached).
import { overSshScript } from "../../components/shell/deployerCommand";
import { hostTagOf } from "../../components/shell/prelude";
import { releaseScript } from "../../components/shell/release";
import type { HealthCheck, ServiceSpec } from "../../components/shell/service";
import { buildPostgresImage } from "../../local/debianImages";
import { DockerEngine, startDockerEngine } from "../../local/dockerd";
import { delay } from "../../local/exec";
import { pushImage } from "../../local/images";
import { LocalRegistry, startRegistry } from "../../local/registry";
import { stopAllSimHosts } from "../../local/simhost";
import { TEST_HOST_RELEASE } from "../support/hostRelease";
import { deliver, proxyAdmin, rollout, runCommand, serviceSpec, setUpProxy } from "./serving";
import { deployerKey, repoDigestOf, startTestHost, TestHost } from "./support";
import { rowsAcross } from "../support/rows";

let registry: LocalRegistry;
let deployer: DockerEngine;
let host: TestHost;
const refs: Record<string, string> = {};

const PASSWORD = "local-only-password";
const ENV_FILE = `POSTGRES_PASSWORD=${PASSWORD}\n`;
const health: HealthCheck = {
  type: "command",
  command: ["pg_isready", "-h", "127.0.0.1", "-U", "postgres"],
  timeoutSeconds: 60,
  intervalSeconds: 1,
};
const spec = (ref: string): ServiceSpec =>
  serviceSpec(host, "db", ref, {
    port: 5432,
    // No hostPort or domains: no proxy route, no port on the host; apps reach it as db:5432.
    hostPort: undefined,
    memory: "256m",
    health,
    volumes: [{ name: "data", path: "/var/lib/postgresql/data" }],
    strategy: "recreate",
  });

/** psql inside the running database container (local socket, trust). */
async function sql(query: string): Promise<string> {
  const result = await host.sim.exec(`docker exec db psql -h /tmp -U postgres -Atc ${JSON.stringify(query)}`);
  if (result.code !== 0) throw new Error(`psql ${query}: ${result.stdout}${result.stderr}`);
  return result.stdout.trim();
}
const rows = async () => Number(await sql("SELECT count(*) FROM notes"));
async function addRows(n: number): Promise<void> {
  await sql(`INSERT INTO notes (body) SELECT 'note ' || g FROM generate_series(1, ${n}) g`);
}

const acrossEvent = (name: string, event: () => Promise<unknown>) =>
  rowsAcross({ count: rows, add: addRows }, name, event);

/** Until pg_isready passes in the container again (after a crash or a reboot), at most 2 minutes. */
async function readyAgain(): Promise<void> {
  const deadline = Date.now() + 120_000;
  while ((await host.sim.exec("docker exec db pg_isready -h 127.0.0.1 -U postgres")).code !== 0) {
    if (Date.now() > deadline) throw new Error("the database did not come back within 2 minutes");
    await delay(500);
  }
}

beforeAll(async () => {
  registry = await startRegistry();
  deployer = await startDockerEngine({ name: "it-pg-deployer", insecureRegistries: [registry.host] });
  host = await startTestHost("it-pg", "fd5e:0:0:e3::1", [registry.host]);
  for (const version of ["v1", "v2"]) {
    const image = await buildPostgresImage(deployer, `it/db:${version}`, `db ${version}`);
    refs[version] = await repoDigestOf(
      deployer,
      await pushImage(deployer, image, registry, "example-org/db", version),
    );
    await deliver(deployer, registry, host, "db", refs[version]);
  }
  expect((await setUpProxy(host)).code).toBe(0);
  const first = await rollout(host, spec(refs.v1), ENV_FILE);
  expect([first.code, first.stderr]).toEqual([0, ""]);
  expect(first.stdout).toContain("running, reached on the apps' network as db:5432 (no proxy route)\n");
}, 900_000);

afterAll(async () => {
  await stopAllSimHosts();
  await deployer?.stop();
  await registry?.stop();
}, 120_000);

test("the migration: a release command from the new image creates the schema over the apps' network", async () => {
  // Docker 26 (trixie) answers the app's name; on Docker 20.10 the client dials the container's address.
  const address =
    TEST_HOST_RELEASE === "trixie"
      ? "db"
      : (
          await host.sim.exec(
            "docker inspect --format '{{(index .NetworkSettings.Networks \"hcloud-deploy\").IPAddress}}' db",
          )
        ).stdout.trim();
  const script = overSshScript({
    subject: "db",
    hostName: host.sim.name,
    target: host.target,
    create: releaseScript({
      app: "db",
      hostName: host.sim.name,
      image: hostTagOf("db", refs.v1),
      command: [
        "psql",
        `postgresql://postgres@${address}/postgres`,
        "-c",
        "CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text NOT NULL)",
      ],
      timeoutSeconds: 60,
      memory: "128m",
      cpus: 0.5,
    }),
  });
  const result = await runCommand(
    script,
    "create",
    `${deployerKey.privateKey.trimEnd()}\n${ENV_FILE}PGPASSWORD=${PASSWORD}\n`,
  );
  expect([result.code, result.stderr]).toEqual([0, ""]);
  expect(result.stdout).toContain("CREATE TABLE");
  expect(await rows()).toBe(0);
  // The volume's directory belongs to the image's user, postgres, looked up in the image's /etc/passwd.
  const uid = (await host.sim.exec("docker exec db id -u")).stdout.trim();
  expect(uid).toMatch(/^[1-9]\d*$/);
  const owner = await host.sim.exec("stat -c %u /var/lib/hcloud-deploy/volumes/db/data");
  expect(owner.stdout.trim()).toBe(uid);
});

test("no route: the proxy serves nothing for the database and nothing listens on its port on the host", async () => {
  expect(await proxyAdmin(host, "/config/apps/http/servers")).toBe("{}\n");
  expect((await host.sim.exec("ss -Hltn 'sport = :5432'")).stdout).toBe("");
});

test("a redeploy of the database: recreate on the same data, every row kept", async () => {
  let output = "";
  const [before, after] = await acrossEvent("a redeploy of the database", async () => {
    const result = await rollout(host, spec(refs.v2), ENV_FILE);
    expect([result.code, result.stderr]).toEqual([0, ""]);
    output = result.stdout;
  });
  const unavailable = /recreate: the app was unavailable for (\d+\.\d)s/.exec(output)?.[1];
  console.log(`recreate: db unavailable for ${unavailable} s (PostgreSQL, as the rollout measured it)`);
  expect(unavailable).toMatch(/^\d+\.\d$/);
  expect(after).toBe(before);
  expect((await host.sim.exec("docker exec db cat /etc/hcd-version")).stdout).toBe("db v2\n");
});

test("dockerd killed: the database comes back with every row", async () => {
  const [before, after] = await acrossEvent("dockerd killed under the database", async () => {
    await host.sim.exec("kill -9 $(cat /run/simhost/docker/pid)");
    await delay(1000);
    await readyAgain();
  });
  expect(after).toBe(before);
});

test("a reboot: the database comes back with every row", async () => {
  const [before, after] = await acrossEvent("the database's host rebooted", async () => {
    await host.sim.reboot();
    await readyAgain();
  });
  expect(after).toBe(before);
});
