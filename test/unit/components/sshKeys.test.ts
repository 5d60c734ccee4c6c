import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { generateEd25519KeyPair, parsePublicKey, publicKeyOfPrivateKey } from "../../../components/sshKeys";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sshkeys-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sshKeygen(type: string): { privateKey: string; publicKey: string } {
  const file = path.join(tmp, `${type}-${Math.random().toString(36).slice(2)}`);
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "t", "-f", file]);
  return { privateKey: fs.readFileSync(file, "utf8"), publicKey: fs.readFileSync(`${file}.pub`, "utf8") };
}

describe("generateEd25519KeyPair", () => {
  test("OpenSSH reads the private key and derives the same public key", () => {
    const pair = generateEd25519KeyPair("web-1-dev");
    const file = path.join(tmp, "generated");
    fs.writeFileSync(file, pair.privateKey, { mode: 0o600 });
    expect(execFileSync("ssh-keygen", ["-y", "-f", file]).toString().trim()).toBe(pair.publicKey);
    const fingerprint = execFileSync("ssh-keygen", ["-l", "-f", file]).toString().split(" ")[1];
    expect(parsePublicKey(pair.publicKey).fingerprint).toBe(fingerprint);
  });

  test("two calls give two different keys", () => {
    expect(generateEd25519KeyPair("a").publicKey).not.toBe(generateEd25519KeyPair("a").publicKey);
  });
});

describe("publicKeyOfPrivateKey matches ssh-keygen's pairs", () => {
  test.each(["ed25519", "rsa", "ecdsa"])("%s", (type) => {
    const pair = sshKeygen(type);
    expect(publicKeyOfPrivateKey(pair.privateKey).blob).toBe(parsePublicKey(pair.publicKey).blob);
  });

  test("a passphrase-protected key is refused with the reason", () => {
    const file = path.join(tmp, "protected");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "secret-pass", "-f", file]);
    expect(() => publicKeyOfPrivateKey(fs.readFileSync(file, "utf8"))).toThrow(
      "the key is passphrase-protected",
    );
  });
});

describe("parsePublicKey rejects what is not a public key", () => {
  const valid = generateEd25519KeyPair("x").publicKey.split(" ")[1];
  test.each([
    ["", 'expected "<type> <base64> [comment]"'],
    ["ssh-ed25519", 'expected "<type> <base64> [comment]"'],
    [`ssh-rsa ${valid}`, 'key data is a "ssh-ed25519" key, not "ssh-rsa"'],
    ["ssh-ed25519 AAAA", "key data is truncated"],
    ["ssh-ed25519 $$$", "key data is not base64"],
    [`x509 ${valid}`, 'unsupported key type "x509"'],
  ])("%j", (line, message) => {
    expect(() => parsePublicKey(line)).toThrow(message);
  });
});
