import { ContainerReport, DesiredHost, desiredHosts, HostReport } from "../../../ops/desired";
import { driftLines, formatStatus, hostStatus } from "../../../ops/status";

const hex = (c: string) => c.repeat(64);
const URN = "urn:pulumi:dev::hcloud-deploy::hcloud-deploy";
const outputs = {
  hostAddresses: { "web-1": "2001:db8:1::1", "web-2": "2001:db8:2::1" },
  hostKeys: { "web-1": "ssh-ed25519 AAAA1 web-1", "web-2": "ssh-ed25519 AAAA2 web-2" },
  hostApps: {
    "web-2": {},
    "web-1": {
      web: {
        image: `ghcr.io/o/web@sha256:${hex("a")}`,
        hostPort: 80,
        domains: ["web.example.com"],
        healthPath: "/healthz",
        service: `${URN}:service:Service::web-on-web-1-service`,
        delivery: `${URN}:delivery:Delivery::web-on-web-1-delivery`,
      },
    },
  },
};

describe("desiredHosts reads the stack outputs", () => {
  test("hosts sorted by name, each with address, pinned key and apps", () => {
    const [web1, web2] = desiredHosts("dev", outputs);
    expect([web1.name, web1.address, web1.hostKey, web2.name, web2.apps]).toEqual([
      "web-1",
      "2001:db8:1::1",
      "ssh-ed25519 AAAA1 web-1",
      "web-2",
      [],
    ]);
    expect(web1.apps).toEqual([
      {
        app: "web",
        digest: `sha256:${hex("a")}`,
        ...outputs.hostApps["web-1"].web,
        volumes: [],
        jobs: [],
        replicas: 1,
      },
    ]);
  });

  test("each host's platform comes from hostPlatforms; stacks deployed before it are amd64", () => {
    const withPlatforms = { ...outputs, hostPlatforms: { "web-1": "linux/amd64", "web-2": "linux/arm64" } };
    expect(desiredHosts("dev", withPlatforms).map((h) => [h.name, h.platform])).toEqual([
      ["web-1", "linux/amd64"],
      ["web-2", "linux/arm64"],
    ]);
    expect(desiredHosts("dev", outputs).map((h) => h.platform)).toEqual(["linux/amd64", "linux/amd64"]);
  });

  test("each host's private address comes from hostPrivateIps; a one-host stack or an older one has none", () => {
    const withNetwork = { ...outputs, hostPrivateIps: { "web-1": "10.100.0.2", "web-2": "10.100.0.3" } };
    expect(desiredHosts("dev", withNetwork).map((h) => [h.name, h.privateIp])).toEqual([
      ["web-1", "10.100.0.2"],
      ["web-2", "10.100.0.3"],
    ]);
    expect(desiredHosts("dev", { ...outputs, hostPrivateIps: {} }).map((h) => "privateIp" in h)).toEqual([
      false,
      false,
    ]);
  });

  test.each<[string, Record<string, unknown>, string]>([
    [
      "a stack deployed before these outputs",
      { hostAddresses: {}, appImages: {} },
      "stack dev has no hostKeys/hostApps outputs: deploy it once with this version (pulumi up)",
    ],
    [
      "a host without key",
      { ...outputs, hostKeys: {} },
      "stack dev: the outputs do not say how to reach host web-1",
    ],
    [
      "an image that is not digest-pinned",
      {
        ...outputs,
        hostApps: { "web-1": { web: { ...outputs.hostApps["web-1"].web, image: "web:latest" } } },
      },
      'stack dev: hostApps.web-1.web.image "web:latest" is not digest-pinned',
    ],
  ])("%s fails with one line", (_name, bad, message) => {
    expect(() => desiredHosts("dev", bad)).toThrow(message);
  });
});

const [host] = desiredHosts("dev", outputs);
const running: ContainerReport = {
  name: "/web",
  imageId: `sha256:${hex("b")}`,
  image: `hcloud-deploy/web:${hex("a")}`,
  app: "web",
  instance: "i1",
  revision: "r1",
  state: "running",
  exitCode: 0,
  startedAt: "2026-11-30T00:00:00Z",
  restartCount: 0,
  health: null,
  ports: {
    "8080/tcp": [
      { HostIp: "", HostPort: "80" },
      { HostIp: "::", HostPort: "80" },
    ],
  },
};
const healthy: HostReport = {
  containers: [running],
  images: [{ tag: `hcloud-deploy/web:${hex("a")}`, id: `sha256:${hex("b")}` }],
  checks: [{ app: "web", url: "http://[::1]:80/healthz", http: "200" }],
  disk: {
    path: "/var/lib/docker",
    totalKiB: 41943040,
    usedKiB: 10485760,
    availableKiB: 20971520,
    images: "12.5MB",
  },
  proxy: null,
};
const other = { tag: `hcloud-deploy/web:${hex("c")}`, id: `sha256:${hex("d")}` };

describe("hostStatus compares a host's report with what the stack wants", () => {
  test.each<[string, HostReport, string[], boolean]>([
    ["as wanted", healthy, [], false],
    [
      "killed",
      { ...healthy, containers: [{ ...running, state: "exited", exitCode: 137 }] },
      ["container exited (137)"],
      false,
    ],
    ["gone", { ...healthy, containers: [] }, ["no container"], false],
    [
      "another image under the app's label",
      {
        ...healthy,
        images: [...healthy.images, other],
        containers: [{ ...running, imageId: other.id, image: other.tag }],
      },
      [`runs sha256:cccccccccccc… instead of sha256:aaaaaaaaaaaa…`],
      false,
    ],
    [
      "answering 500",
      { ...healthy, checks: [{ ...healthy.checks[0], http: "500" }] },
      ["health check failing (HTTP 500)"],
      false,
    ],
    [
      "the wanted image removed from under a running container",
      { ...healthy, images: [] },
      [`image sha256:aaaaaaaaaaaa… is not on the host`],
      true,
    ],
    [
      "Docker's own health check says unhealthy",
      { ...healthy, containers: [{ ...running, health: "unhealthy" }] },
      ["health check unhealthy"],
      false,
    ],
  ])("%s", (_name, report, problems, imageMissing) => {
    const [web] = hostStatus(host, report).apps;
    expect([web.problems, web.imageMissing]).toEqual([problems, imageMissing]);
  });

  test("a container of ours the stack does not know is drift that names it", () => {
    const stranger = { ...running, name: "/worker", app: "worker", ports: null };
    const status = hostStatus(host, { ...healthy, containers: [running, stranger] });
    expect(driftLines([status])).toEqual(["worker on web-1: not in the stack"]);
  });

  test("a host that could not be asked is drift with its one-line reason", () => {
    const line =
      "hcloud-deploy: status on web-1: unreachable at [2001:db8:1::1]: ssh: connect to host … timed out";
    expect(driftLines([hostStatus(host, line)])).toEqual([line]);
  });
});

describe("an app without a route (no hostPort, no domains): reached on the apps' network only", () => {
  const [routeless] = desiredHosts("dev", {
    ...outputs,
    hostApps: {
      "web-1": { db: { ...outputs.hostApps["web-1"].web, hostPort: undefined, domains: [] } },
    },
  });
  const db = { ...running, name: "/db", app: "db", image: `hcloud-deploy/db:${hex("a")}`, ports: null };
  const report: HostReport = {
    ...healthy,
    containers: [db],
    images: [{ tag: `hcloud-deploy/db:${hex("a")}`, id: `sha256:${hex("b")}` }],
    checks: [],
  };

  test("the stack's outputs leave its hostPort out: no check through the proxy is asked for", () => {
    expect(routeless.apps.map((a) => [a.app, a.hostPort, a.domains])).toEqual([["db", undefined, []]]);
  });

  test("no route is no drift, and the route column says where it is reached", () => {
    const [app] = hostStatus(routeless, report).apps;
    expect([app.route, app.problems, app.health]).toEqual(["none (apps' network)", [], "-"]);
  });

  test("a route it still has (a hostPort removed, not deployed yet) is shown", () => {
    const proxy = {
      "hcloud-deploy-db": {
        listen: [":5432"],
        routes: [{ "@id": "hcloud-deploy-db", handle: [{ upstreams: [{ dial: "172.30.0.2:5432" }] }] }],
      },
    };
    const [app] = hostStatus(routeless, { ...report, proxy }).apps;
    expect(app.route).toBe(":5432 → 172.30.0.2:5432");
  });
});

describe("volumes: each app's, with its kind and space; a Hetzner Volume not mounted or a full one is drift", () => {
  const withVolumes = desiredHosts("dev", {
    ...outputs,
    hostApps: {
      "web-1": {
        web: {
          ...outputs.hostApps["web-1"].web,
          volumes: [{ name: "data", size: 20 }, { name: "cache" }],
        },
      },
    },
  })[0];
  const volume = (name: string, fields: object) => ({
    app: "web",
    name,
    exists: true,
    mounted: false,
    totalKiB: 20971520,
    availableKiB: 19922944,
    ...fields,
  });
  test.each<[string, object[], string[], string[]]>([
    [
      "as wanted",
      [volume("data", { mounted: true }), volume("cache", {})],
      [
        "volume data (Hetzner Volume, 20 GB, mounted): 1.0 GiB of 20.0 GiB used",
        "volume cache (directory): 1.0 GiB of 20.0 GiB used",
      ],
      [],
    ],
    [
      "the Hetzner Volume not mounted",
      [volume("data", {}), volume("cache", {})],
      [
        "volume data (Hetzner Volume, 20 GB, NOT MOUNTED): 1.0 GiB of 20.0 GiB used",
        "volume cache (directory): 1.0 GiB of 20.0 GiB used",
      ],
      ["volume data (a Hetzner Volume) is not mounted"],
    ],
    [
      "the directory full, the other one missing",
      [volume("cache", { availableKiB: 0 })],
      ["volume data (Hetzner Volume, 20 GB): missing", "volume cache (directory): 20.0 GiB of 20.0 GiB used"],
      ["volume data is missing", "volume cache is full"],
    ],
  ])("%s", (_name, volumes, lines, problems) => {
    const [web] = hostStatus(withVolumes, { ...healthy, volumes: volumes as HostReport["volumes"] }).apps;
    expect([web.volumes, web.problems]).toEqual([lines, problems]);
  });

  test("formatStatus prints them under the app's row", () => {
    const status = hostStatus(withVolumes, {
      ...healthy,
      volumes: [volume("data", { mounted: true }), volume("cache", {})] as HostReport["volumes"],
    });
    expect(formatStatus("dev", [status]).split("\n").slice(3, 5)).toEqual([
      "    web volume data (Hetzner Volume, 20 GB, mounted): 1.0 GiB of 20.0 GiB used",
      "    web volume cache (directory): 1.0 GiB of 20.0 GiB used",
    ]);
  });
});

describe("jobs: each one's schedule and last run; a missing timer is drift, a failed run is not", () => {
  const withJobs = desiredHosts("dev", {
    ...outputs,
    hostApps: {
      "web-1": {
        web: {
          ...outputs.hostApps["web-1"].web,
          jobs: [
            { name: "cleanup", schedule: "0 3 * * *" },
            { name: "report", schedule: "@daily" },
          ],
        },
      },
    },
  })[0];
  const job = (name: string, fields: object) => ({
    app: "web",
    job: name,
    installed: true,
    last: null,
    ...fields,
  });
  const ran = (exitCode: number) => ({ last: { startedAt: "2026-12-03T03:00:00Z", exitCode, seconds: 4 } });
  test.each<[string, object[] | undefined, string[], string[]]>([
    [
      "ran, and not yet",
      [job("cleanup", ran(0)), job("report", {})],
      [
        "job cleanup (0 3 * * *): last run 2026-12-03T03:00:00Z, exit 0 after 4s",
        "job report (@daily): not run yet",
      ],
      [],
    ],
    [
      "a failed run, a timer missing",
      [job("cleanup", ran(3)), job("report", { installed: false })],
      [
        "job cleanup (0 3 * * *): last run 2026-12-03T03:00:00Z, exit 3 (failed) after 4s",
        "job report (@daily): timer missing",
      ],
      ["job report has no timer"],
    ],
    [
      "a report from before jobs",
      undefined,
      ["job cleanup (0 3 * * *): not reported", "job report (@daily): not reported"],
      [],
    ],
  ])("%s", (_name, jobs, lines, problems) => {
    const [web] = hostStatus(withJobs, { ...healthy, jobs: jobs as HostReport["jobs"] }).apps;
    expect([web.jobs, web.problems]).toEqual([lines, problems]);
  });

  test("formatStatus prints them under the app's row", () => {
    const status = hostStatus(withJobs, {
      ...healthy,
      jobs: [job("cleanup", ran(0)), job("report", {})] as HostReport["jobs"],
    });
    expect(formatStatus("dev", [status]).split("\n").slice(3, 5)).toEqual([
      "    web job cleanup (0 3 * * *): last run 2026-12-03T03:00:00Z, exit 0 after 4s",
      "    web job report (@daily): not run yet",
    ]);
  });
});

describe("replicas: each one's state, image and health; fewer running, extras or another image is drift", () => {
  const withReplicas = desiredHosts("dev", {
    ...outputs,
    hostApps: { "web-1": { web: { ...outputs.hostApps["web-1"].web, replicas: 3 } } },
  })[0];
  const replica = (name: string, fields: Partial<ContainerReport> = {}): ContainerReport => ({
    ...running,
    name,
    ...fields,
  });
  const image = `sha256:${hex("a").slice(0, 12)}…`;
  test.each<[string, ContainerReport[], string[], string[]]>([
    [
      "three running, listed in order",
      [replica("/web_3"), replica("/web"), replica("/web_2")],
      [
        `replica web: running, ${image}, health ok (HTTP 200)`,
        `replica web_2: running, ${image}, health ok (HTTP 200)`,
        `replica web_3: running, ${image}, health ok (HTTP 200)`,
      ],
      [],
    ],
    [
      "one exited, one on another image, one more than wanted",
      [
        replica("/web"),
        replica("/web_2", { state: "exited", exitCode: 137 }),
        replica("/web_3", { imageId: other.id }),
        replica("/web_4"),
      ],
      [
        `replica web: running, ${image}, health ok (HTTP 200)`,
        `replica web_2: exited (137), ${image}, health ok (HTTP 200)`,
        `replica web_3: running, sha256:${hex("c").slice(0, 12)}…, health ok (HTTP 200)`,
        `replica web_4: running, ${image}, health ok (HTTP 200)`,
      ],
      ["1 replica(s) more than the stack wants", "replica web_3 runs another image"],
    ],
    [
      "two of three, a one-off container of the app not counted",
      [replica("/web"), replica("/web_2"), replica("/web-job-report-1700000000")],
      [
        `replica web: running, ${image}, health ok (HTTP 200)`,
        `replica web_2: running, ${image}, health ok (HTTP 200)`,
      ],
      ["2 of 3 replicas running"],
    ],
  ])("%s", (_name, containers, lines, problems) => {
    const [web] = hostStatus(withReplicas, {
      ...healthy,
      images: [...healthy.images, other],
      containers,
    }).apps;
    expect([web.replicas, web.problems]).toEqual([lines, problems]);
  });

  test("one wanted: no replica lines", () => {
    expect(hostStatus(host, healthy).apps[0].replicas).toEqual([]);
  });
});

describe("formatStatus", () => {
  test("per host its disk, per app digests, state, health and route; then the verdict", () => {
    expect(formatStatus("dev", [hostStatus(host, healthy)])).toBe(
      [
        "web-1  [2001:db8:1::1]  linux/amd64  disk: 10.0 GiB of 40.0 GiB used (33%), 20.0 GiB free on /var/lib/docker; images 12.5MB",
        "  APP  DESIRED               RUNNING               STATE    HEALTH         ROUTE",
        "  web  sha256:aaaaaaaaaaaa…  sha256:aaaaaaaaaaaa…  running  ok (HTTP 200)  :80 → 8080",
        "stack dev: no drift; 1 service(s) on 1 host(s) as the stack wants them",
      ].join("\n"),
    );
  });

  test("a host in the stack's private network shows its address there", () => {
    const [first] = formatStatus("dev", [hostStatus({ ...host, privateIp: "10.100.0.2" }, healthy)]).split(
      "\n",
    );
    expect(first).toMatch(/^web-1  \[2001:db8:1::1\]  private 10\.100\.0\.2  linux\/amd64  disk: /);
  });

  test("drifted rows are marked and listed, unreachable hosts say so", () => {
    const host2: DesiredHost = {
      ...host,
      name: "web-2",
      address: "2001:db8:2::1",
      platform: "linux/arm64",
      apps: [],
    };
    const killed = {
      ...healthy,
      containers: [{ ...running, state: "exited", exitCode: 137 }],
      checks: [{ ...healthy.checks[0], http: "000" }],
    };
    const text = formatStatus("dev", [
      hostStatus(host, killed),
      hostStatus(host2, "hcloud-deploy: status on web-2: unreachable"),
    ]);
    expect(text.split("\n")).toEqual([
      expect.stringMatching(/^web-1  \[2001:db8:1::1\]  linux\/amd64  disk: /),
      "  APP  DESIRED               RUNNING               STATE         HEALTH              ROUTE",
      "! web  sha256:aaaaaaaaaaaa…  sha256:aaaaaaaaaaaa…  exited (137)  failing (HTTP 000)  :80 → 8080",
      "web-2  [2001:db8:2::1]  linux/arm64  UNREACHABLE",
      "stack dev: DRIFT",
      "  web on web-1: container exited (137)",
      "  hcloud-deploy: status on web-2: unreachable",
    ]);
  });
});
