import * as crypto from "crypto";

/**
 * OpenSSH key handling in plain Node: parsing the deployer's key pair from config, and encoding the
 * ed25519 host keys the program pins on every host (so no extra provider plugin is needed).
 */

const PUBLIC_KEY_TYPES = new Set([
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
]);
const OPENSSH_MAGIC = Buffer.from("openssh-key-v1\0", "latin1");
const PRIVATE_KEY_PEM =
  /^-----BEGIN OPENSSH PRIVATE KEY-----\s*\n([A-Za-z0-9+/=\s]+)-----END OPENSSH PRIVATE KEY-----\s*$/;

export interface ParsedPublicKey {
  type: string;
  /** The wire-format key blob, base64 as in the authorized_keys line. */
  blob: string;
  /** `SHA256:…` as `ssh-keygen -l` prints it. */
  fingerprint: string;
}

class SshWireReader {
  private offset = 0;
  constructor(private readonly buf: Buffer) {}

  string(): Buffer {
    if (this.offset + 4 > this.buf.length) throw new Error("truncated key data");
    const len = this.buf.readUInt32BE(this.offset);
    const start = this.offset + 4;
    if (start + len > this.buf.length) throw new Error("truncated key data");
    this.offset = start + len;
    return this.buf.subarray(start, start + len);
  }

  uint32(): number {
    if (this.offset + 4 > this.buf.length) throw new Error("truncated key data");
    const value = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
}

function wireString(data: Buffer | string): Buffer {
  const body = typeof data === "string" ? Buffer.from(data, "latin1") : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

function fingerprintOf(blob: Buffer): string {
  return "SHA256:" + crypto.createHash("sha256").update(blob).digest("base64").replace(/=+$/, "");
}

/** Parses an authorized_keys-style line ("type base64 [comment]"); throws with the reason on bad input. */
export function parsePublicKey(line: string): ParsedPublicKey {
  const [type, blob] = line.trim().split(/\s+/);
  if (!type || !blob) throw new Error('expected "<type> <base64> [comment]"');
  if (!PUBLIC_KEY_TYPES.has(type)) throw new Error(`unsupported key type "${type}"`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) throw new Error("key data is not base64");
  const raw = Buffer.from(blob, "base64");
  let embeddedType: string;
  try {
    embeddedType = new SshWireReader(raw).string().toString("latin1");
  } catch {
    throw new Error("key data is truncated");
  }
  if (embeddedType !== type) throw new Error(`key data is a "${embeddedType}" key, not "${type}"`);
  return { type, blob, fingerprint: fingerprintOf(raw) };
}

/**
 * Reads the public half out of an unencrypted OpenSSH private key, so config can be checked for a
 * matching pair before any host is touched.
 */
export function publicKeyOfPrivateKey(pem: string): ParsedPublicKey {
  const match = PRIVATE_KEY_PEM.exec(pem.trim() + "\n");
  if (!match) throw new Error('expected an OpenSSH private key ("-----BEGIN OPENSSH PRIVATE KEY-----")');
  const raw = Buffer.from(match[1].replace(/\s+/g, ""), "base64");
  if (!raw.subarray(0, OPENSSH_MAGIC.length).equals(OPENSSH_MAGIC))
    throw new Error("not an openssh-key-v1 key");
  try {
    const reader = new SshWireReader(raw.subarray(OPENSSH_MAGIC.length));
    const cipher = reader.string().toString("latin1");
    if (cipher !== "none") throw new Error("the key is passphrase-protected; remove the passphrase");
    reader.string(); // kdf name
    reader.string(); // kdf options
    if (reader.uint32() !== 1) throw new Error("expected exactly one key");
    const blob = reader.string();
    const type = new SshWireReader(blob).string().toString("latin1");
    return { type, blob: blob.toString("base64"), fingerprint: fingerprintOf(blob) };
  } catch (err) {
    if (err instanceof Error && err.message.startsWith("the key")) throw err;
    throw new Error(`malformed OpenSSH private key (${(err as Error).message})`);
  }
}

export interface Ed25519KeyPair {
  /** `ssh-ed25519 AAAA… comment`, for known_hosts and cloud-init. */
  publicKey: string;
  /** OpenSSH-format private key, as sshd reads it from /etc/ssh/ssh_host_ed25519_key. */
  privateKey: string;
}

/**
 * Generates an ed25519 key pair in OpenSSH formats; `ssh-keygen` is not needed on the deployer. The
 * SshHostKey dynamic provider serializes this function, so it captures no module-level Buffer (a
 * serialized Buffer is a plain object in the provider process).
 */
export function generateEd25519KeyPair(comment: string): Ed25519KeyPair {
  const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
  // The last 32 bytes of the DER encodings are the raw key material.
  const pub = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  const seed = privateKey.export({ format: "der", type: "pkcs8" }).subarray(-32);
  const pubBlob = Buffer.concat([wireString("ssh-ed25519"), wireString(pub)]);

  const check = crypto.randomBytes(4);
  let secret = Buffer.concat([
    check,
    check,
    wireString("ssh-ed25519"),
    wireString(pub),
    wireString(Buffer.concat([seed, pub])),
    wireString(comment),
  ]);
  const padLength = (8 - (secret.length % 8)) % 8;
  secret = Buffer.concat([secret, Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1))]);

  const body = Buffer.concat([
    Buffer.from("openssh-key-v1\0", "latin1"),
    wireString("none"),
    wireString("none"),
    wireString(""),
    Buffer.from([0, 0, 0, 1]),
    wireString(pubBlob),
    wireString(secret),
  ]);
  const lines = body.toString("base64").match(/.{1,70}/g) ?? [];
  return {
    publicKey: `ssh-ed25519 ${pubBlob.toString("base64")} ${comment}`,
    privateKey: [
      "-----BEGIN OPENSSH PRIVATE KEY-----",
      ...lines,
      "-----END OPENSSH PRIVATE KEY-----",
      "",
    ].join("\n"),
  };
}
