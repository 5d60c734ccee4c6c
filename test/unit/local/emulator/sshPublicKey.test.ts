import { sshKeyFingerprint } from "../../../../local/emulator/sshPublicKey";
import { md5Fingerprint, newPublicKey } from "./support";

describe("SSH key fingerprint", () => {
  test("is the MD5 of the key blob, as hex pairs", () => {
    const key = newPublicKey();
    expect(sshKeyFingerprint(key)).toBe(md5Fingerprint(key));
  });

  test.each([
    ["", "expected"],
    ["ssh-dss AAAA", "unsupported key type"],
    ["ssh-ed25519 !!!", "not base64"],
    ["ssh-ed25519 AAAA", "truncated"],
    [newPublicKey().replace("ssh-ed25519", "ssh-rsa"), 'is a "ssh-ed25519" key, not "ssh-rsa"'],
  ])("refuses %j: %s", (key, message) => {
    expect(() => sshKeyFingerprint(key)).toThrow(message);
  });
});
