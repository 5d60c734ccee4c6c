import type { DeliveryArgs } from "../../../components/delivery";
import { freshRuntime, MockedRun, noResources, outputValue, runUnderMocks } from "../support/program";
import { fakeTarget, TARGET } from "../support/target";

const HEX = "c".repeat(64);
const REF = `registry.example:5000/org/web@sha256:${HEX}`;
const REGISTRY = { server: "registry.example:5000", username: "bot" };

type Args = Omit<DeliveryArgs, "target">;

interface DeliveryRun extends MockedRun {
  imageRef: string;
  hostTag: string;
}

/** Constructs one Delivery named "web-on-box" to a fake target directly under mocks. */
async function runDelivery(args: Args): Promise<DeliveryRun> {
  let delivery: import("../../../components/delivery").Delivery | undefined;
  const run = await runUnderMocks({}, async (pulumi) => {
    const { Delivery } = await import("../../../components/delivery");
    delivery = new Delivery("web-on-box", { ...args, target: fakeTarget(pulumi) });
  });
  return {
    ...run,
    imageRef: await outputValue(run.pulumi, delivery!.imageRef),
    hostTag: await outputValue(run.pulumi, delivery!.hostTag),
  };
}

describe("Delivery by tarball (the default)", () => {
  let run: DeliveryRun;
  beforeAll(async () => {
    run = await runDelivery({ app: "web", imageRef: REF, registry: REGISTRY, pullToken: "pull-token-value" });
  });

  test("one local command on the deployer, named from the delivery", () => {
    expect(run.resources.map((r) => [r.type, r.name, r.parentName])).toEqual([
      ["hcloud-deploy:delivery:Delivery", "web-on-box", undefined],
      ["command:local:Command", "web-on-box-load", "web-on-box"],
    ]);
  });

  test("the command line is one short exec; the script sits in the environment and holds no secret", () => {
    const { create, environment, interpreter, addPreviousOutputInEnv } = run.named("web-on-box-load").inputs;
    expect([create, interpreter, addPreviousOutputInEnv]).toEqual([
      'exec bash -c "$HCLOUD_DEPLOY_SCRIPT" hcloud-deploy',
      undefined,
      false,
    ]);
    expect(Object.keys(environment)).toEqual(["HCLOUD_DEPLOY_SCRIPT"]);
    const script: string = environment.HCLOUD_DEPLOY_SCRIPT;
    expect(script).toContain(`ref='${REF}'`);
    expect(script).toContain(`host_addr=('${TARGET.address}')`);
    expect(script).toContain(`'${TARGET.address} ${TARGET.hostKey.split(" ").slice(0, 2).join(" ")}'`);
    expect(script).toContain(`host_tag='hcloud-deploy/web:${HEX}'`);
    expect(script).toContain("host_name=('box')");
    expect(script).toContain("leave_failures=0");
    // In the stack's registry: fetched from there, the manifest read while the host is asked.
    expect(script).toContain("from_registry=1 read_ahead=1 ");
    expect(script).toContain(
      `export HCLOUD_DEPLOY_REGISTRY='registry.example:5000' HCLOUD_DEPLOY_REGISTRY_USER='bot'`,
    );
    expect(script).toContain("HCLOUD_DEPLOY_REGISTRY_INSECURE=0 ");
    expect(script).toContain(`plan "$ref" 'linux/amd64'`);
    expect(script).not.toContain("pull-token-value");
    expect(script).not.toContain("OPENSSH PRIVATE KEY-----\nb3Bl");
  });

  test("the target's private key and the pull token travel on stdin, as a secret", async () => {
    const load = run.named("web-on-box-load");
    expect(load.inputs.stdin).toBe(`${TARGET.privateKey.trimEnd()}\npull-token-value\n`);
    expect(await run.pulumi.isSecret(load.props.stdin)).toBe(true);
  });

  test("triggers: the digest and the server, nothing else", () => {
    expect(run.named("web-on-box-load").inputs.triggers).toEqual([REF, TARGET.serverId]);
  });

  test("exposes the image and its host tag for the service", () => {
    expect([run.imageRef, run.hostTag]).toEqual([REF, `hcloud-deploy/web:${HEX}`]);
  });
});

describe("Delivery after a fan-out", () => {
  test("waits for it: the fan-out resource is a dependency of the command", async () => {
    let after: unknown;
    const run = await runUnderMocks({}, async (pulumi) => {
      const { Delivery } = await import("../../../components/delivery");
      after = new pulumi.ComponentResource("test:index:FanOut", "fan-out");
      new Delivery("web-on-box", {
        app: "web",
        imageRef: REF,
        registry: REGISTRY,
        after: after as never,
        target: fakeTarget(pulumi),
      });
    });
    expect(run.named("web-on-box-load").opts.dependsOn).toEqual([after]);
    // The host most likely has the image by then: the registry is read only if it does not.
    expect(run.named("web-on-box-load").inputs.environment.HCLOUD_DEPLOY_SCRIPT).toContain(
      "from_registry=1 read_ahead=0 ",
    );
  });
});

describe("Delivery of an image from elsewhere", () => {
  test.each([
    ["another registry", "elsewhere.example/org/web", "linux/amd64", "from_registry=0 "],
    [
      "the stack's registry, an arm64 host, plain HTTP",
      "registry.example:5000/org/web",
      "linux/arm64",
      "from_registry=1 ",
    ],
  ] as const)("%s", async (_, repository, platform, expected) => {
    const run = await runDelivery({
      app: "web",
      imageRef: `${repository}@sha256:${HEX}`,
      registry: { ...REGISTRY, insecure: true },
      platform,
    });
    const script: string = run.named("web-on-box-load").inputs.environment.HCLOUD_DEPLOY_SCRIPT;
    expect(script).toContain(expected);
    expect(script).toContain(`plan "$ref" '${platform}'`);
    expect(script).toContain("HCLOUD_DEPLOY_REGISTRY_INSECURE=1 ");
  });
});

describe("Delivery by tarball without a pull token", () => {
  test("stdin holds the key and an empty token line", async () => {
    const run = await runDelivery({ app: "web", imageRef: REF, registry: REGISTRY, mode: "tarball" });
    expect(run.named("web-on-box-load").inputs.stdin).toBe(`${TARGET.privateKey.trimEnd()}\n\n`);
  });
});

describe("Delivery by registry pull", () => {
  let run: DeliveryRun;
  beforeAll(async () => {
    run = await runDelivery({
      app: "web",
      imageRef: REF,
      registry: REGISTRY,
      mode: "registry",
      pullToken: "pull-token-value",
    });
  });

  test("one local command on the deployer, which reaches the host through the shared SSH prelude", () => {
    expect(run.resources.map((r) => [r.type, r.name, r.parentName])).toEqual([
      ["hcloud-deploy:delivery:Delivery", "web-on-box", undefined],
      ["command:local:Command", "web-on-box-pull", "web-on-box"],
    ]);
    const pull = run.named("web-on-box-pull").inputs;
    expect([pull.create, pull.connection, pull.addPreviousOutputInEnv]).toEqual([
      'exec bash -c "$HCLOUD_DEPLOY_SCRIPT" hcloud-deploy',
      undefined,
      false,
    ]);
    const script: string = pull.environment.HCLOUD_DEPLOY_SCRIPT;
    expect(script).toContain(`host_addr=('${TARGET.address}')`);
    expect(script).toContain("check_host");
  });

  test("pulls by digest as the registry user; key and token only on stdin, as a secret", async () => {
    const pull = run.named("web-on-box-pull");
    const script: string = pull.inputs.environment.HCLOUD_DEPLOY_SCRIPT;
    // The host's script travels quoted inside the deployer's; its words survive the quoting.
    for (const word of [
      REF,
      `hcloud-deploy/web:${HEX}`,
      "--username",
      "bot",
      "--password-stdin",
      "registry.example:5000",
    ])
      expect(script).toContain(word);
    expect(script).not.toContain("pull-token-value");
    expect(pull.inputs.stdin).toBe(`${TARGET.privateKey.trimEnd()}\npull-token-value\n`);
    expect(await run.pulumi.isSecret(pull.props.stdin)).toBe(true);
    expect(pull.inputs.triggers).toEqual([REF, TARGET.serverId]);
  });

  test("without a pull token it is refused before anything is registered", async () => {
    // The mocks refuse every resource, so the constructor must throw before registering one.
    const pulumi = await freshRuntime({}, "dev", noResources);
    const { Delivery } = await import("../../../components/delivery");
    const args = { app: "web", imageRef: REF, registry: REGISTRY, mode: "registry" as const };
    expect(() => new Delivery("web-on-box", { ...args, target: fakeTarget(pulumi) })).toThrow(
      "Delivery web-on-box: registry delivery needs a pull token",
    );
  });
});
