import { hostKeyProvider } from "../../../components/sshHostKey";
import { parsePublicKey, publicKeyOfPrivateKey } from "../../../components/sshKeys";
import { runUnderMocks } from "../support/program";

describe("SshHostKey", () => {
  test("a dynamic resource whose private half is a secret output", async () => {
    const run = await runUnderMocks({}, async () => {
      const { SshHostKey } = await import("../../../components/sshHostKey");
      new SshHostKey("web-1-host-key", { comment: "web-1-dev" });
    });
    expect(run.resources.map((r) => [r.type, r.name])).toEqual([
      ["pulumi-nodejs:dynamic/hcloud-deploy:SshHostKey", "web-1-host-key"],
    ]);
    expect(run.named("web-1-host-key").inputs).toMatchObject({ comment: "web-1-dev" });
    expect(run.named("web-1-host-key").opts.additionalSecretOutputs).toEqual(["privateKey"]);
  });

  test("create makes an ed25519 pair whose halves match; the ID is the public key blob", async () => {
    const created = await hostKeyProvider.create({ comment: "web-1-dev" });
    const { publicKey, privateKey, comment } = created.outs as Record<string, string>;
    const parsed = parsePublicKey(publicKey);
    expect(parsed.type).toBe("ssh-ed25519");
    expect(publicKey.endsWith(" web-1-dev")).toBe(true);
    expect(publicKeyOfPrivateKey(privateKey).blob).toBe(parsed.blob);
    expect([created.id, comment]).toEqual([parsed.blob, "web-1-dev"]);
  });

  test("every key is new", async () => {
    const [a, b] = await Promise.all([
      hostKeyProvider.create({ comment: "x" }),
      hostKeyProvider.create({ comment: "x" }),
    ]);
    expect(a.id).not.toBe(b.id);
  });
});
