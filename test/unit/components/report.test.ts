import { execFileSync } from "child_process";
import * as net from "net";
import * as path from "path";
import { logsScript, SINCE } from "../../../components/shell/logs";
import { overSsh, reportScript } from "../../../components/shell/report";
import { generateEd25519KeyPair } from "../../../components/sshKeys";
import { parseHostReport } from "../../../ops/desired";
import { fakeHost, FakeHost } from "../support/fakeHost";

const hex = "a".repeat(64);
const container = {
  name: "/web",
  imageId: `sha256:${"b".repeat(64)}`,
  image: `hcloud-deploy/web:${hex}`,
  app: "web",
  instance: "i1",
  revision: "r1",
  state: "running",
  exitCode: 0,
  startedAt: "2026-11-30T00:00:00Z",
  restartCount: 0,
  health: null,
  ports: { "8080/tcp": [{ HostIp: "", HostPort: "80" }] },
};
const checks = [{ app: "web", port: 80, path: "/healthz" }];

let host: FakeHost;
afterEach(() => host?.cleanup());

describe("reportScript", () => {
  test("prints one JSON object the deployer parses: containers, images, checks, disk, no proxy", () => {
    host = fakeHost({
      containers: [{ id: "c1", imageId: container.imageId, report: container }],
      images: [
        { tag: `hcloud-deploy/web:${hex}`, id: container.imageId, lastTagTime: "2026-11-30T00:00:00Z" },
      ],
      http: { "http://[::1]:80/healthz": "200" },
    });
    const result = host.run(reportScript({ proxySocket: path.join(host.dir, "none.sock"), checks }));
    expect([result.code, result.stderr]).toEqual([0, ""]);
    expect(parseHostReport("web-1", result.stdout)).toEqual({
      containers: [container],
      images: [{ tag: `hcloud-deploy/web:${hex}`, id: container.imageId }],
      checks: [{ app: "web", url: "http://[::1]:80/healthz", http: "200" }],
      disk: {
        path: "/var/lib/docker",
        totalKiB: 1000000,
        usedKiB: 250000,
        availableKiB: 700000,
        images: "12.5MB",
      },
      volumes: [],
      jobs: [],
      proxy: null,
    });
    expect(host.calls()).toContain("docker ps -aq --no-trunc --filter label=hcloud-deploy.app");
  });

  test("a job it is asked about: its timer file and its last run (none on this machine)", () => {
    host = fakeHost({ containers: [], images: [] });
    const jobs = [{ app: "web", job: "cleanup" }];
    const result = host.run(
      reportScript({ proxySocket: path.join(host.dir, "none.sock"), checks: [], jobs }),
    );
    expect(parseHostReport("web-1", result.stdout).jobs).toEqual([
      { app: "web", job: "cleanup", installed: false, last: null },
    ]);
    const script = reportScript({ proxySocket: "/s", checks: [], jobs });
    expect(script).toContain(
      'if [ -f "/etc/systemd/system/hcloud-deploy-$1.$2.timer" ]; then installed=true; fi',
    );
    expect(script).toContain('last=$(cat "/var/lib/hcloud-deploy/jobs/$1/$2.last")');
  });

  test("an app with domains is checked over HTTPS on its first name, through this host's proxy", () => {
    host = fakeHost({ containers: [], images: [], http: { "https://shop.example.com/healthz": "204" } });
    const https = [{ app: "shop", port: 3000, path: "/healthz", domain: "shop.example.com" }];
    const result = host.run(reportScript({ proxySocket: "/nonexistent", checks: https }));
    expect(parseHostReport("web-1", result.stdout).checks).toEqual([
      { app: "shop", url: "https://shop.example.com/healthz", http: "204" },
    ]);
    expect(host.calls()).toContain(
      "curl -s -o /dev/null -w %{http_code} --max-time 3 -k --resolve shop.example.com:443:[::1] https://shop.example.com/healthz",
    );
  });

  test("an empty host is an empty report, still JSON", () => {
    host = fakeHost({ containers: [], images: [] });
    const report = parseHostReport(
      "web-1",
      host.run(reportScript({ proxySocket: "/nonexistent", checks: [] })).stdout,
    );
    expect([report.containers, report.images, report.checks, report.proxy]).toEqual([[], [], [], null]);
  });

  test("reads the proxy's servers over its admin socket when the socket exists", async () => {
    const servers = { srv0: { listen: [":80"], routes: [{ "@id": "web", handle: [] }] } };
    host = fakeHost({ containers: [], images: [], proxyServers: servers });
    const socket = path.join(host.dir, "admin.sock");
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    try {
      const out = host.run(reportScript({ proxySocket: socket, checks: [] })).stdout;
      expect(parseHostReport("web-1", out).proxy).toEqual(servers);
      expect(host.calls()).toContain(
        `curl -s --max-time 3 --unix-socket ${socket} -H Host:  http://localhost/config/apps/http/servers`,
      );
    } finally {
      server.close();
    }
  });

  test("asks docker for chosen fields only, never the environment (it holds the app's secrets)", () => {
    const script = reportScript({ proxySocket: "/run/x.sock", checks });
    expect(script).not.toMatch(/\.Config\.Env|\{\{json \.\}\}|docker inspect "\$id"$/m);
    expect(script).toContain(`{{json (index .Config.Labels "hcloud-deploy.app")}}`);
  });
});

describe("logsScript", () => {
  test.each([
    ["10m", true],
    ["90s", true],
    ["2h", true],
    ["2026-11-30", true],
    ["2026-11-30T10:00:00Z", true],
    ["2026-11-30T10:00:00.5+01:00", true],
    ["10 minutes", false],
    ["1d", false],
    ["$(reboot)", false],
    ["", false],
  ])("--since %j accepted: %p", (since, ok) => {
    expect(SINCE.test(since)).toBe(ok);
    if (!ok) expect(() => logsScript({ app: "web", hostName: "web-1", since })).toThrow(/--since must be/);
  });

  test("follows the app's running container by label, with timestamps", () => {
    const script = logsScript({ app: "web", hostName: "web-1", follow: true, since: "10m", tail: 50 });
    expect(script).toContain("docker ps -q --filter 'label=hcloud-deploy.app=web' --filter status=running");
    expect(script).toContain(`exec docker logs --timestamps --follow --since '10m' --tail 50 "$id"`);
  });

  test("an app without a container fails with one line naming app and host", () => {
    host = fakeHost({ containers: [], images: [] });
    const result = host.run(logsScript({ app: "web", hostName: "web-1" }));
    expect([result.code, result.stderr]).toEqual([
      1,
      "hcloud-deploy: web on web-1: no container of this app on the host\n",
    ]);
  });
});

test("overSsh dials first, then runs the host script, under bash", () => {
  const hostKey = generateEd25519KeyPair("web-1").publicKey;
  const script = overSsh(
    { address: "2001:db8::1", port: 22, user: "root", hostKey },
    "web-1",
    "status",
    "true",
  );
  expect(() => execFileSync("bash", ["-n"], { input: script })).not.toThrow();
  expect(script).toContain("say() { printf 'hcloud-deploy: %s on %s: %s\\n' 'status' 'web-1' \"$*\"; }");
  expect(script.indexOf("\ncheck_host\n")).toBeLessThan(script.indexOf("\nremote 'sh -c "));
});
