import * as crypto from "crypto";

const KEY_TYPES = new Set([
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
]);

/**
 * The API's SSH key fingerprint: MD5 of the decoded key blob as colon-separated hex pairs. Throws with
 * the reason when `publicKey` is not an OpenSSH public key line, which is how a private key or a
 * truncated secret pasted into config shows up.
 */
export function sshKeyFingerprint(publicKey: string): string {
  const [type, data] = publicKey.trim().split(/\s+/);
  if (!type || !data) throw new Error('expected "<type> <base64> [comment]"');
  if (!KEY_TYPES.has(type)) throw new Error(`unsupported key type "${type}"`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) throw new Error("key data is not base64");
  const blob = Buffer.from(data, "base64");
  const typeLength = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
  if (typeLength < 0 || 4 + typeLength > blob.length) throw new Error("key data is truncated");
  const embeddedType = blob.subarray(4, 4 + typeLength).toString("latin1");
  if (embeddedType !== type) throw new Error(`key data is a "${embeddedType}" key, not "${type}"`);
  const digest = crypto.createHash("md5").update(blob).digest("hex");
  return digest.match(/../g)!.join(":");
}
