import { execFileSync } from "child_process";
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { RFC3339, TestEmulator, startTestEmulator } from "./support";

/** A certificate made by openssl itself, independent of the emulator's own issuing. */
function opensslPair(names: string[]): { certificate: string; privateKey: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cert-test-"));
  try {
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", `/CN=${names[0]}`],
        ...["-addext", `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}`],
        ...["-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")],
      ],
      { stdio: "ignore" },
    );
    return {
      certificate: fs.readFileSync(path.join(dir, "cert.pem"), "utf8"),
      privateKey: fs.readFileSync(path.join(dir, "key.pem"), "utf8"),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe("emulator: certificates and an https service", () => {
  let t: TestEmulator;
  let lbId = 0;
  const uploaded = opensslPair(["app.example.com", "www.example.com"]);
  const ids = { uploaded: 0, managed: 0 };

  beforeAll(async () => {
    t = await startTestEmulator();
    lbId = (
      await t.api("POST", "/load_balancers", { name: "lb", load_balancer_type: "lb11", location: "fsn1" })
    ).body.load_balancer.id;
  });
  afterAll(() => t.close());

  test("an uploaded certificate comes back byte for byte, with names, validity and fingerprint from the PEM", async () => {
    const res = await t.api("POST", "/certificates", {
      name: "web-cert-1a2b3c4",
      type: "uploaded",
      certificate: uploaded.certificate,
      private_key: uploaded.privateKey,
    });
    expect([res.status, res.body.action]).toEqual([201, null]);
    const x509 = new X509Certificate(uploaded.certificate);
    expect(res.body.certificate).toEqual({
      id: expect.any(Number),
      name: "web-cert-1a2b3c4",
      labels: {},
      type: "uploaded",
      certificate: uploaded.certificate,
      created: expect.stringMatching(RFC3339),
      not_valid_before: new Date(x509.validFrom).toISOString().replace(/\.000Z$/, "Z"),
      not_valid_after: new Date(x509.validTo).toISOString().replace(/\.000Z$/, "Z"),
      domain_names: ["app.example.com", "www.example.com"],
      fingerprint: x509.fingerprint256.toLowerCase(),
      status: null,
      used_by: [],
    });
    expect(res.body.certificate).not.toHaveProperty("private_key");
    ids.uploaded = res.body.certificate.id;
  });

  test("a private key of another certificate is refused naming the field", async () => {
    const other = opensslPair(["other.example.com"]);
    const res = await t.api("POST", "/certificates", {
      name: "mismatch",
      certificate: uploaded.certificate,
      private_key: other.privateKey,
    });
    expect([res.status, res.body.error.code, res.body.error.details.fields[0].name]).toEqual([
      422,
      "invalid_input",
      "private_key",
    ]);
  });

  test("a managed certificate is issued at once for exactly the requested names, with a finished action", async () => {
    const res = await t.api("POST", "/certificates", {
      name: "managed-1a2b3c4",
      type: "managed",
      domain_names: ["www.example.com", "example.com"],
    });
    expect(res.status).toBe(201);
    expect(res.body.action).toMatchObject({ command: "create_certificate", status: "success" });
    const certificate = res.body.certificate;
    expect([certificate.type, certificate.domain_names, certificate.status.issuance]).toEqual([
      "managed",
      ["www.example.com", "example.com"],
      "completed",
    ]);
    const x509 = new X509Certificate(certificate.certificate);
    expect(x509.subjectAltName).toBe("DNS:www.example.com, DNS:example.com");
    ids.managed = certificate.id;
  });

  test("an https service with a certificate and the HTTP redirect; port 80 is then taken", async () => {
    const res = await t.api("POST", `/load_balancers/${lbId}/actions/add_service`, {
      protocol: "https",
      listen_port: 443,
      destination_port: 80,
      http: { certificates: [ids.managed], redirect_http: true, sticky_sessions: false },
    });
    expect(res.status).toBe(201);
    const service = (await t.api("GET", `/load_balancers/${lbId}`)).body.load_balancer.services[0];
    expect([service.http.certificates, service.http.redirect_http, service.health_check.protocol]).toEqual([
      [ids.managed],
      true,
      "http",
    ]);
    const clash = await t.api("POST", `/load_balancers/${lbId}/actions/add_service`, {
      protocol: "http",
      listen_port: 80,
    });
    expect([clash.status, clash.body.error.code]).toEqual([412, "source_port_already_used"]);
  });

  test("the backend gets the certificate with its key for TLS, and used_by names the load balancer", async () => {
    const pem = t.lbs.loadBalancers.get(lbId)!.certificates[ids.managed];
    expect(pem).toMatch(/-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----/);
    const certificate = (await t.api("GET", `/certificates/${ids.managed}`)).body.certificate;
    expect(certificate.used_by).toEqual([{ id: lbId, type: "load_balancer" }]);
  });

  test("a certificate in use cannot be deleted; once the service is gone it can (204)", async () => {
    const refused = await t.api("DELETE", `/certificates/${ids.managed}`);
    expect([refused.status, refused.body.error.code]).toEqual([422, "resource_in_use"]);
    await t.api("POST", `/load_balancers/${lbId}/actions/delete_service`, { listen_port: 443 });
    expect((await t.api("DELETE", `/certificates/${ids.managed}`)).status).toBe(204);
    expect((await t.api("GET", "/certificates?name=managed-1a2b3c4")).body.certificates).toEqual([]);
  });

  test.each([
    ["an https service without a certificate", { protocol: "https", listen_port: 443 }],
    ["an unknown certificate", { protocol: "https", listen_port: 443, http: { certificates: [4242] } }],
    ["a redirect on plain http", { protocol: "http", listen_port: 81, http: { redirect_http: true } }],
  ])("%s is invalid_input", async (_name, body) => {
    const res = await t.api("POST", `/load_balancers/${lbId}/actions/add_service`, body);
    expect([res.status, res.body.error.code]).toEqual([422, "invalid_input"]);
  });
});
