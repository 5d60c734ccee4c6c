// The documented example program (examples/one-host) is the tested one: it runs under mocks here, and
// docs/components.md must show it verbatim.
import * as fs from "fs";
import * as path from "path";
import { deployerKey, MockedRun, ROOT, runUnderMocks } from "../support/program";
import { hostScriptOf } from "../support/scripts";

const IMAGE = `ghcr.io/example-org/hello@sha256:${"e".repeat(64)}`;

describe("examples/one-host", () => {
  let run: MockedRun;
  beforeAll(async () => {
    run = await runUnderMocks(
      {
        "hcloud-deploy:sshPublicKey": deployerKey.sshPublicKey,
        "hcloud-deploy:sshPrivateKey": deployerKey.sshPrivateKey,
        "hcloud-deploy:helloImage": IMAGE,
      },
      async () => ({ ...(await import("../../../examples/one-host")) }),
    );
  });

  test("one host, one image, one delivery, one service", () => {
    expect(
      run.resources.filter((r) => r.type.startsWith("hcloud-deploy:")).map((r) => [r.type, r.name]),
    ).toEqual([
      ["hcloud-deploy:host:HetznerHost", "web-1"],
      ["hcloud-deploy:image:AppImage", "hello"],
      ["hcloud-deploy:delivery:Delivery", "hello-on-web-1"],
      ["hcloud-deploy:service:Service", "hello-on-web-1-service"],
    ]);
    expect(run.resources).toHaveLength(13);
  });

  test("the delivery streams the pinned image to the host's address; the host proxy serves port 80", () => {
    const load = run.named("hello-on-web-1-load").inputs;
    expect(load.create).toBe('exec bash -c "$HCLOUD_DEPLOY_SCRIPT" hcloud-deploy');
    expect(load.environment.HCLOUD_DEPLOY_SCRIPT).toContain(`ref='${IMAGE}'`);
    expect(load.environment.HCLOUD_DEPLOY_SCRIPT).toMatch(/host_addr=\('2001:db8:0:[0-9a-f]+::1'\)/);
    const rollout = run.named("hello-on-web-1-service-rollout").inputs.environment.HCLOUD_DEPLOY_SCRIPT;
    expect(hostScriptOf(rollout, "create")).toContain('"listen":[":80"]');
    expect(run.named("web-1-firewall").inputs.rules.map((r: { port?: string }) => r.port)).toEqual([
      "22",
      undefined,
      "80",
    ]);
  });

  test("exports where the app answers", () => {
    expect(run.outputs.url).toMatch(/^http:\/\/\[2001:db8:0:[0-9a-f]+::1\]:80\/$/);
  });

  test("docs/components.md shows this very program", () => {
    const page = fs.readFileSync(path.join(ROOT, "docs/components.md"), "utf8");
    const program = fs.readFileSync(path.join(ROOT, "examples/one-host/index.ts"), "utf8");
    expect(page).toContain("```ts\n" + program + "```");
  });
});
