import { X509Certificate, createPrivateKey } from "crypto";
import { mkdtemp, readFile, rm } from "fs/promises";
import { tmpdir } from "os";
import path from "path";
import { run } from "../exec";
import { invalidInput } from "./errors";

/** What the API reports of a certificate, read from the PEM itself. */
export interface CertificateFacts {
  domainNames: string[];
  notValidBefore: string;
  notValidAfter: string;
  fingerprint: string;
}

const MANAGED_VALIDITY_DAYS = 90;

function rfc3339(date: string): string {
  return new Date(date).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Validates an uploaded PEM pair the way the API does: a parsable certificate and its own key. */
export function readCertificate(pem: string, privateKey?: string): CertificateFacts {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pem);
  } catch (error) {
    throw invalidInput("certificate", `is not a PEM certificate: ${(error as Error).message}`);
  }
  if (privateKey !== undefined) {
    let key;
    try {
      key = createPrivateKey(privateKey);
    } catch (error) {
      throw invalidInput("private_key", `is not a PEM private key: ${(error as Error).message}`);
    }
    if (!certificate.checkPrivateKey(key))
      throw invalidInput("private_key", "does not belong to the certificate");
  }
  const sans = (certificate.subjectAltName ?? "")
    .split(", ")
    .filter((entry) => entry.startsWith("DNS:"))
    .map((entry) => entry.slice(4));
  const commonName = /CN=([^\n,]+)/.exec(certificate.subject)?.[1];
  return {
    domainNames: sans.length > 0 ? sans : commonName ? [commonName] : [],
    notValidBefore: rfc3339(certificate.validFrom),
    notValidAfter: rfc3339(certificate.validTo),
    fingerprint: certificate.fingerprint256.toLowerCase(),
  };
}

/**
 * "Issues" a managed certificate at once: self-signed for exactly the requested names (so the load
 * balancer's proxy can terminate TLS in tests), where Hetzner would ask Let's Encrypt through Hetzner DNS.
 */
export async function issueSelfSigned(
  domainNames: string[],
): Promise<{ certificate: string; privateKey: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), "hcd-cert-"));
  try {
    const [keyFile, certFile] = [path.join(dir, "key.pem"), path.join(dir, "cert.pem")];
    await run("openssl", [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", keyFile, "-out", certFile, "-days", String(MANAGED_VALIDITY_DAYS)],
      ...[
        "-subj",
        `/CN=${domainNames[0]}`,
        "-addext",
        `subjectAltName=${domainNames.map((d) => `DNS:${d}`).join(",")}`,
      ],
    ]);
    return { certificate: await readFile(certFile, "utf8"), privateKey: await readFile(keyFile, "utf8") };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
