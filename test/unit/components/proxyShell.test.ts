import { appProxyTemplate, baseConfig, canonicalJson, HTTPS_SERVER } from "../../../components/shell/caddy";
import { overSshScript, scriptCommandLine } from "../../../components/shell/deployerCommand";
import { APP_NETWORK, PROXY, proxyNames } from "../../../components/shell/prelude";
import { DOCKER_DAEMON_CONFIG, hostFiles, hostSetupScript } from "../../../components/shell/proxy";
import { rolloutScript } from "../../../components/shell/rollout";
import { ServiceSpec } from "../../../components/shell/service";
import { generateEd25519KeyPair } from "../../../components/sshKeys";

const spec: ServiceSpec = {
  app: "web",
  hostName: "web-1",
  image: `hcloud-deploy/web:${"c".repeat(64)}`,
  port: 8080,
  hostPort: 80,
  domains: [],
  memory: "256m",
  cpus: 1,
  restart: "unless-stopped",
  health: { path: "/healthz", timeoutSeconds: 60, intervalSeconds: 2 },
  drainSeconds: 30,
  env: {},
  instance: "instance-a",
  keepImages: 3,
};

describe("the proxy's config", () => {
  test("the admin API listens on a unix socket only; the internal CA never installs itself", () => {
    expect(baseConfig({ issuer: "internal" })).toBe(
      '{"admin":{"listen":"unix//run/caddy/admin.sock"},"apps":{"http":{"servers":{}},' +
        '"pki":{"certificate_authorities":{"local":{"install_trust":false}}},' +
        '"tls":{"automation":{"policies":[{"issuers":[{"module":"internal"}]}]}}}}',
    );
    expect(baseConfig({ issuer: "acme", email: "ops@example.com" })).toContain(
      '"issuers":[{"email":"ops@example.com","module":"acme"}]',
    );
    expect(baseConfig({ issuer: "acme" })).not.toMatch(/"listen":"[^u]|:2019|localhost/);
  });

  test("a plain HTTP app owns a server on its port; its handler sends new requests to the first upstream", () => {
    expect(appProxyTemplate({ app: "web", hostPort: 80, domains: [] })).toBe(
      '{"automatic_https":{"disable":true},"listen":[":80"],"routes":[{"@id":"hcloud-deploy-web","handle":' +
        '[{"@id":"hcloud-deploy-web-proxy","handler":"reverse_proxy","load_balancing":{"selection_policy":' +
        '{"policy":"first"},"try_duration":"5s","try_interval":"250ms"},"upstreams":__UPSTREAMS__}__DRAINING__]}]}',
    );
  });

  test("replicas: round robin, health-checked by the proxy, the http check's path probed every 2 s", () => {
    expect(
      appProxyTemplate({ app: "web", hostPort: 80, domains: [], replicas: 3, healthPath: "/healthz" }),
    ).toBe(
      '{"automatic_https":{"disable":true},"listen":[":80"],"routes":[{"@id":"hcloud-deploy-web","handle":' +
        '[{"@id":"hcloud-deploy-web-proxy","handler":"reverse_proxy","health_checks":{"active":{"interval":"2s",' +
        '"timeout":"2s","uri":"/healthz"},"passive":{"fail_duration":"10s","max_fails":1}},"load_balancing":' +
        '{"selection_policy":{"policy":"round_robin"},"try_duration":"5s","try_interval":"250ms"},' +
        '"transport":{"dial_timeout":"1s","protocol":"http"},"upstreams":__UPSTREAMS__}__DRAINING__]}]}',
    );
    // A tcp or command check has no path the proxy could probe: it notices refused connections only.
    expect(appProxyTemplate({ app: "db", hostPort: 5432, domains: [], replicas: 2 })).toContain(
      '"health_checks":{"passive":{"fail_duration":"10s","max_fails":1}},"load_balancing":{"selection_policy":{"policy":"round_robin"}',
    );
  });

  test("an app with domains owns a route matching its host names in the shared HTTPS server", () => {
    expect(
      appProxyTemplate({ app: "shop", hostPort: 8080, domains: ["shop.example.com", "example.com"] }),
    ).toBe(
      '{"@id":"hcloud-deploy-shop","handle":[{"@id":"hcloud-deploy-shop-proxy","handler":"reverse_proxy",' +
        '"load_balancing":{"selection_policy":{"policy":"first"},"try_duration":"5s","try_interval":"250ms"},' +
        '"upstreams":__UPSTREAMS__}__DRAINING__],"match":[{"host":["shop.example.com","example.com"]}],"terminal":true}',
    );
    expect(HTTPS_SERVER).toBe('{"listen":[":443"],"routes":[]}');
  });

  test("JSON keys come out sorted at every level, as Caddy's admin API returns them", () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }], "@id": "x" })).toBe(
      '{"@id":"x","a":[{"c":3,"d":2}],"b":1}',
    );
  });

  test("names are defined once: admin socket, per-app @ids, the apps' network", () => {
    expect(PROXY.adminSocket).toBe("/run/caddy/admin.sock");
    expect(PROXY.httpsServer).toBe("hcloud-deploy.https");
    expect(proxyNames("api")).toEqual({
      server: "hcloud-deploy-api",
      route: "hcloud-deploy-api",
      upstream: "hcloud-deploy-api-proxy",
    });
    expect(APP_NETWORK).toEqual({
      name: "hcloud-deploy",
      bridge: "hcd0",
      ipv4Subnet: "172.30.0.0/24",
      ipv4Gateway: "172.30.0.1",
      ipv6Subnet: "fd68:6364::/64",
    });
  });
});

describe("host setup", () => {
  test("Docker keeps containers through its restarts and NATs the apps' IPv6", () => {
    expect(DOCKER_DAEMON_CONFIG).toMatchObject({ "live-restore": true, ip6tables: true, experimental: true });
    expect(hostFiles({ issuer: "acme" })[0].content).toBe(
      '{"experimental":true,"ip6tables":true,"live-restore":true,"log-driver":"json-file",' +
        '"log-opts":{"max-file":"3","max-size":"10m"}}\n',
    );
  });

  test("caddy runs with --resume on the base config, restarts when it dies, and cannot be reloaded", () => {
    expect(hostFiles({ issuer: "acme" })[1]).toEqual({
      path: "/etc/systemd/system/caddy.service.d/hcloud-deploy.conf",
      permissions: "0644",
      content:
        "[Service]\nExecStart=\nExecStart=/usr/bin/caddy run --resume --config /etc/caddy/hcloud-deploy.json\n" +
        "ExecReload=\nRuntimeDirectory=caddy\nRestart=always\nRestartSec=1\n",
    });
  });

  test("installs caddy only where it is missing, switches live-restore on before restarting dockerd", () => {
    const script = hostSetupScript("web-1", { issuer: "acme" });
    expect(script).toContain("if ! command -v caddy >/dev/null 2>&1; then");
    expect(script.indexOf("systemctl reload docker")).toBeLessThan(
      script.indexOf("systemctl restart docker"),
    );
    expect(script).toContain(
      "docker network create --ipv6 --subnet 172.30.0.0/24 --subnet fd68:6364::/64 \\\n",
    );
    expect(script).toContain("-o com.docker.network.bridge.name=hcd0 hcloud-deploy");
    expect(script).not.toContain("BEGIN CERTIFICATE");
    expect(script).not.toContain("/pki/ca/local");
    expect(hostSetupScript("web-1", { issuer: "internal" })).toContain("admin GET /pki/ca/local");
  });
});

describe("the rollout", () => {
  const script = rolloutScript(spec);

  test("runs the app on the apps' network with a fixed address and publishes no port", () => {
    expect(script).toContain(
      `docker run -d --name "$(replica_name $k)-next" --ip "$ip" --network hcloud-deploy --network-alias 'web' --restart`,
    );
    expect(script).not.toMatch(/docker run[^\n]*( -p |--publish)/);
  });

  test("switches only after the candidate passed its check, then drains, then stops the old version", () => {
    const steps = [
      'docker run -d --name "$(replica_name $k)-next"',
      'healthy "$dial" 60 "$(replica_name $k)-next"',
      'locked apply_config "$new" "$old"',
      'drain "$old" 30',
      'locked apply_config "$new" "" ||',
      "replica_list | xargs -r docker stop --time 10",
      'docker rename "$(replica_name $k)-next" "$(replica_name $k)"',
      'finish "revision $revision serving on port 80 through the proxy"',
    ];
    let from = 0;
    for (const step of steps) {
      const at = script.indexOf(step, from);
      expect([step, at >= from]).toEqual([step, true]);
      from = at;
    }
  });

  test.each([
    [
      "http (the default) GETs the path on the container's address",
      spec.health,
      `code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$1/healthz" || true)`,
      "GET /healthz on port 8080",
    ],
    [
      "tcp connects to the app port",
      { type: "tcp" as const, timeoutSeconds: 30, intervalSeconds: 1 },
      `timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "\${1%:*}" "\${1##*:}" 2>/dev/null && return 0`,
      "TCP connection to port 8080",
    ],
    [
      "command runs inside the new container",
      {
        type: "command" as const,
        command: ["pg_isready", "-U", "app's"],
        timeoutSeconds: 30,
        intervalSeconds: 1,
      },
      `out=$(timeout 5 docker exec "$2" 'pg_isready' '-U' 'app'\\''s' 2>&1) && return 0`,
      "command pg_isready -U app's in the container",
    ],
  ])("health check: %s", (_, health, attempt, text) => {
    const checked = rolloutScript({ ...spec, health });
    expect(checked).toContain(attempt);
    expect(checked).toContain(
      `fail "health check ${text} did not pass within ${health.timeoutSeconds}s ($last)`,
    );
    // Only an http check is tried again through the proxy.
    expect(checked.includes('healthy "127.0.0.1:80" 15 "$app-next"')).toBe(health === spec.health);
  });

  test("keeps today's message for a version that fails its check", () => {
    expect(script).toContain(
      'fail "health check GET /healthz on port 8080 did not pass within 60s ($last); the previous version keeps serving"',
    );
  });
});

describe("host scripts run from the deployer", () => {
  test("the command line is short and names no script; the script comes from the environment", () => {
    expect(scriptCommandLine("create")).toBe('exec bash -c "$HCLOUD_DEPLOY_SCRIPT" hcloud-deploy create');
    expect(scriptCommandLine("delete")).toBe('exec bash -c "$HCLOUD_DEPLOY_SCRIPT" hcloud-deploy delete');
  });

  test("the dial leaves stdin to the host script, and a broken connection fails in one line", () => {
    const hostKey = generateEd25519KeyPair("web-1").publicKey;
    const script = overSshScript({
      subject: "web",
      hostName: "web-1",
      target: { address: "2001:db8::1", port: 22, user: "root", hostKey },
      create: "cat >/dev/null",
    });
    expect(script).toContain("check_host </dev/null");
    expect(script).toContain(
      'fail "the SSH connection to [2001:db8::1] broke off before the host had finished"',
    );
    expect(script).toContain("  delete) : ;;");
  });
});
