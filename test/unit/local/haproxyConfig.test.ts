import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { LoadBalancerSpec } from "../../../local/emulator/cloudBackend";
import type { LoadBalancerService } from "../../../local/emulator/state";
import { haproxyConfig, serverStateFile, statusRegex } from "../../../local/haproxyConfig";
import { parseHealth } from "../../../local/simLoadBalancer";

const HTTP: LoadBalancerService = {
  protocol: "http",
  listen_port: 80,
  destination_port: 8080,
  proxyprotocol: false,
  health_check: {
    protocol: "http",
    port: 8080,
    interval: 15,
    timeout: 10,
    retries: 3,
    http: { domain: null, path: "/healthz", response: "", status_codes: ["2??", "3??"], tls: false },
  },
  http: {
    cookie_name: "HCLBSTICKY",
    cookie_lifetime: 300,
    certificates: [],
    redirect_http: false,
    sticky_sessions: false,
    timeout_idle: 50,
  },
};
const HTTPS: LoadBalancerService = {
  ...HTTP,
  protocol: "https",
  listen_port: 443,
  http: { ...HTTP.http!, certificates: [7001], redirect_http: true },
};

const spec = (over: Partial<LoadBalancerSpec> = {}): LoadBalancerSpec => ({
  id: 6001,
  ipv6: "fd5e:0:0:3::1",
  privateIp: "10.0.0.2",
  publicInterface: true,
  algorithm: "round_robin",
  services: [HTTP],
  certificates: {},
  targets: [
    { serverId: 4001, address: "10.0.0.3" },
    { serverId: 4002, address: "10.0.0.4" },
  ],
  ...over,
});
const PATHS = {
  socket: "/lb/admin.sock",
  stateFile: "/lb/server-state",
  certificate: (id: number) => `/lb/certificate-${id}.pem`,
};

const sectionOf = (config: string, header: string) => {
  const found = config.indexOf(`\n${header}\n`);
  if (found < 0) throw new Error(`no section "${header}" in:\n${config}`);
  const start = found + 1;
  return config.slice(start, config.indexOf("\n\n", start)).split("\n");
};

describe("haproxyConfig", () => {
  test("an http service: a frontend on the public address of both families, a backend with the health check", () => {
    const config = haproxyConfig(spec(), PATHS)!;
    expect(sectionOf(config, "frontend svc80")).toEqual([
      "frontend svc80",
      "  mode http",
      "  bind :::80 v4v6",
      "  option forwardfor",
      "  timeout client 50s",
      "  default_backend svc80",
    ]);
    expect(sectionOf(config, "backend svc80")).toEqual([
      "backend svc80",
      "  id 80",
      "  mode http",
      "  balance roundrobin",
      "  option httpchk",
      "  http-check send meth GET uri /healthz",
      "  http-check expect rstatus ^(2[0-9][0-9]|3[0-9][0-9])$",
      "  timeout check 10s",
      "  default-server inter 15s fall 3 rise 1",
      "  server s4001 10.0.0.3:8080 id 4001 check port 8080",
      "  server s4002 10.0.0.4:8080 id 4002 check port 8080",
    ]);
    expect(config).toContain("  stats socket /lb/admin.sock mode 600 level admin expose-fd listeners\n");
    expect(config).toContain("  load-server-state-from-file global\n");
  });

  test("https: TLS with the certificate's PEM, forwarded proto, and the redirect on port 80", () => {
    const config = haproxyConfig(spec({ services: [HTTPS] }), PATHS)!;
    expect(sectionOf(config, "frontend svc443")).toContain(
      "  bind :::443 v4v6 ssl crt /lb/certificate-7001.pem",
    );
    expect(sectionOf(config, "frontend svc443")).toContain(
      "  http-request set-header X-Forwarded-Proto https",
    );
    expect(sectionOf(config, "frontend svc443_redirect")).toEqual([
      "frontend svc443_redirect",
      "  mode http",
      "  bind :::80 v4v6",
      "  http-request redirect scheme https code 301",
    ]);
  });

  test("a domain makes the check HTTP/1.1 with that Host; least connections; tcp checks for tcp", () => {
    const withDomain = {
      ...HTTP,
      health_check: { ...HTTP.health_check, http: { ...HTTP.health_check.http!, domain: "app.example.com" } },
    };
    const tcp: LoadBalancerService = {
      ...HTTP,
      protocol: "tcp",
      listen_port: 5432,
      http: null,
      health_check: { ...HTTP.health_check, protocol: "tcp", http: null },
    };
    const config = haproxyConfig(
      spec({ services: [withDomain, tcp], algorithm: "least_connections" }),
      PATHS,
    )!;
    expect(config).toContain(
      "  http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host app.example.com\n",
    );
    expect(config).toContain("  balance leastconn\n");
    expect(sectionOf(config, "backend svc5432")).toContain("  option tcp-check");
    expect(sectionOf(config, "frontend svc5432")).not.toContain("  option forwardfor");
  });

  test("without a public interface it answers on its private address only", () => {
    expect(sectionOf(haproxyConfig(spec({ publicInterface: false }), PATHS)!, "frontend svc80")).toContain(
      "  bind 10.0.0.2:80",
    );
  });

  test("no services: nothing to run (HAProxy refuses a configuration without listeners)", () => {
    expect(haproxyConfig(spec({ services: [] }), PATHS)).toBeUndefined();
  });

  test.each([
    [["2??", "3??"], "^(2[0-9][0-9]|3[0-9][0-9])$"],
    [["200"], "^(200)$"],
    [["20?", "418"], "^(20[0-9]|418)$"],
  ])("status codes %j → %s", (codes, regex) => {
    expect(statusRegex(codes)).toBe(regex);
  });

  test("HAProxy itself accepts what it is given, https with a real certificate included", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "haproxy-config-"));
    try {
      const cert = path.join(dir, "certificate-7001.pem");
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-nodes",
          "-days",
          "1",
          "-subj",
          "/CN=a.test",
          "-keyout",
          cert,
          "-out",
          `${cert}.crt`,
        ],
        { stdio: "ignore" },
      );
      fs.appendFileSync(cert, fs.readFileSync(`${cert}.crt`));
      const paths = { socket: path.join(dir, "s"), stateFile: path.join(dir, "st"), certificate: () => cert };
      fs.writeFileSync(
        path.join(dir, "cfg"),
        haproxyConfig(spec({ services: [HTTPS, { ...HTTP, listen_port: 8443 }] }), paths)!,
      );
      expect(() =>
        execFileSync("haproxy", ["-c", "-q", "-f", path.join(dir, "cfg")], { stdio: "pipe" }),
      ).not.toThrow();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

const HEADER_LINE = "# be_id be_name srv_id srv_name srv_addr srv_op_state";

describe("serverStateFile", () => {
  test("new servers start down with a failed check, so they get traffic only after a good one", () => {
    const lines = serverStateFile(spec()).split("\n");
    expect(lines[0]).toBe("1");
    expect(lines[1].startsWith(HEADER_LINE)).toBe(true);
    expect(lines.slice(2)).toEqual([
      "80 svc80 4001 s4001 10.0.0.3 0 0 1 1 0 8 2 0 6 0 1 1 - 8080 - 0 0 - - 0",
      "80 svc80 4002 s4002 10.0.0.4 0 0 1 1 0 8 2 0 6 0 1 1 - 8080 - 0 0 - - 0",
      "",
    ]);
  });

  test("a server as HAProxy reported it is kept; one whose address changed starts over", () => {
    const dump = [
      "1",
      "# be_id be_name …",
      "80 svc80 4001 s4001 10.0.0.3 2 0 1 1 120 15 3 3 6 0 1 1 - 8080 - 0 0 - - 0",
      "80 svc80 4002 s4002 10.0.0.9 2 0 1 1 120 15 3 3 6 0 1 1 - 8080 - 0 0 - - 0",
    ].join("\n");
    expect(serverStateFile(spec(), dump).split("\n").slice(2, 4)).toEqual([
      "80 svc80 4001 s4001 10.0.0.3 2 0 1 1 120 15 3 3 6 0 1 1 - 8080 - 0 0 - - 0",
      "80 svc80 4002 s4002 10.0.0.4 0 0 1 1 0 8 2 0 6 0 1 1 - 8080 - 0 0 - - 0",
    ]);
  });
});

test("parseHealth reads `show stat`: UP (also going down) is healthy, DOWN unhealthy, the rest unknown", () => {
  const csv = [
    "# pxname,svname,qcur,status,check_status",
    "svc80,FRONTEND,,OPEN,",
    "svc80,s4001,0,UP,L7OK",
    "svc80,s4002,0,UP 1/3,L7STS",
    "svc80,s4003,0,DOWN,L4CON",
    "svc80,s4004,0,MAINT,",
    "svc80,BACKEND,0,UP,",
  ].join("\n");
  expect(parseHealth(csv)).toEqual({
    80: { 4001: "healthy", 4002: "healthy", 4003: "unhealthy", 4004: "unknown" },
  });
});
