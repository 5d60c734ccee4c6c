import type * as pulumiType from "@pulumi/pulumi";
import type { DeliveryFanOutArgs } from "../../../components/deliveryFanOut";
import type { HostTarget } from "../../../components/hostTarget";
import { freshRuntime, MockedRun, noResources, runUnderMocks } from "../support/program";
import { fakeTarget, TARGET } from "../support/target";

const HEX = "d".repeat(64);
const REF = `registry.example:5000/org/web@sha256:${HEX}`;
const REGISTRY = { server: "registry.example:5000", username: "bot" };
const OTHER = {
  hostName: "box-2",
  address: "2001:db8:78::1",
  hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfBoxTwoHostKeyOfBoxTwoHostKey box-2",
  serverId: "server-43",
};

/** A second target beside fakeTarget's, with the same deployer key. */
function otherTarget(pulumi: typeof pulumiType): HostTarget {
  return {
    hostName: OTHER.hostName,
    address: pulumi.output(OTHER.address),
    hostKey: pulumi.output(OTHER.hostKey),
    connection: pulumi.secret({
      host: OTHER.address,
      user: "root",
      privateKey: TARGET.privateKey,
      hostKey: OTHER.hostKey,
      dialErrorLimit: 40,
      perDialTimeout: 10,
    }),
    serverId: pulumi.output(OTHER.serverId),
  };
}

type Args = Omit<DeliveryFanOutArgs, "targets">;

async function runFanOut(args: Args): Promise<MockedRun> {
  return runUnderMocks({}, async (pulumi) => {
    const { DeliveryFanOut } = await import("../../../components/deliveryFanOut");
    new DeliveryFanOut("web-fan-out", {
      ...args,
      targets: [fakeTarget(pulumi), otherTarget(pulumi)],
    });
  });
}

describe("DeliveryFanOut", () => {
  let run: MockedRun;
  beforeAll(async () => {
    run = await runFanOut({ app: "web", imageRef: REF, registry: REGISTRY, pullToken: "pull-token-value" });
  });

  test("one local command on the deployer for all hosts", () => {
    expect(run.resources.map((r) => [r.type, r.name, r.parentName])).toEqual([
      ["hcloud-deploy:delivery:DeliveryFanOut", "web-fan-out", undefined],
      ["command:local:Command", "web-fan-out-ship", "web-fan-out"],
    ]);
  });

  test("the script names every host in order, leaves their failures to them, relays 8 at a time", () => {
    const { create, environment, addPreviousOutputInEnv } = run.named("web-fan-out-ship").inputs;
    expect([create, addPreviousOutputInEnv]).toEqual([
      'exec bash -c "$HCLOUD_DEPLOY_SCRIPT" hcloud-deploy',
      false,
    ]);
    const script: string = environment.HCLOUD_DEPLOY_SCRIPT;
    expect(script).toContain(`host_addr=('${TARGET.address}' '${OTHER.address}')`);
    expect(script).toContain("host_name=('box' 'box-2')");
    expect(script).toContain("parallelism=8 leave_failures=1");
    expect(script).toContain(`ref='${REF}'`);
    expect(script).not.toContain("pull-token-value");
  });

  test("key and token on stdin, as a secret; triggers are the digest and every server", async () => {
    const ship = run.named("web-fan-out-ship");
    expect(ship.inputs.stdin).toBe(`${TARGET.privateKey.trimEnd()}\npull-token-value\n`);
    expect(await run.pulumi.isSecret(ship.props.stdin)).toBe(true);
    expect(ship.inputs.triggers).toEqual([REF, TARGET.serverId, OTHER.serverId]);
  });

  test("parallelism and dependencies come from the args", async () => {
    let firewall: unknown;
    const withArgs = await runUnderMocks({}, async (pulumi) => {
      const { DeliveryFanOut } = await import("../../../components/deliveryFanOut");
      firewall = new pulumi.ComponentResource("test:index:Firewall", "firewall");
      new DeliveryFanOut("web-fan-out", {
        app: "web",
        imageRef: REF,
        registry: REGISTRY,
        parallelism: 3,
        dependsOn: [firewall as pulumiType.Resource],
        targets: [fakeTarget(pulumi), otherTarget(pulumi)],
      });
    });
    const ship = withArgs.named("web-fan-out-ship");
    expect(ship.inputs.environment.HCLOUD_DEPLOY_SCRIPT).toContain("parallelism=3 leave_failures=1");
    expect(ship.opts.dependsOn).toEqual([firewall]);
    expect(ship.inputs.stdin).toBe(`${TARGET.privateKey.trimEnd()}\n\n`);
  });

  test("the targets' one deployer key goes to the agent; different keys are refused", async () => {
    const { sharedKey } = await import("../../../components/deliveryFanOut");
    expect(sharedKey("web-fan-out", ["key-a\n", "key-a"])).toBe("key-a");
    expect(() => sharedKey("web-fan-out", ["key-a", "key-b"])).toThrow(
      "DeliveryFanOut web-fan-out: the targets need the same deployer key",
    );
  });

  test("one target is refused before anything is registered", async () => {
    const pulumi = await freshRuntime({}, "dev", noResources);
    const { DeliveryFanOut } = await import("../../../components/deliveryFanOut");
    const args = { app: "web", imageRef: REF, registry: REGISTRY, targets: [fakeTarget(pulumi)] };
    expect(() => new DeliveryFanOut("web-fan-out", args)).toThrow(
      "DeliveryFanOut web-fan-out: needs two or more targets",
    );
  });
});
