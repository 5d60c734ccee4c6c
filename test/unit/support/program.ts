import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type * as pulumiType from "@pulumi/pulumi";
import { parse } from "yaml";
import { generateEd25519KeyPair } from "../../../components/sshKeys";
import { READ_STACK_OUTPUTS } from "../../../config/previous";
import { CatalogServer, serveCatalog } from "./catalogServer";
import { installFakeRegistry } from "./fakeRegistry";

export const ROOT = path.resolve(__dirname, "../../..");

/** A resource as the program registered it: mock inputs (plain), original props (Outputs) and options. */
export interface Recorded {
  type: string;
  name: string;
  /** Inputs as the engine would receive them (secrets unwrapped). */
  inputs: Record<string, any>;
  /** Constructor props as the program passed them, Outputs intact (for secretness checks). */
  props: Record<string, any>;
  opts: pulumiType.CustomResourceOptions;
  parentName?: string;
}

export interface ProgramRun {
  resources: Recorded[];
  outputs: Record<string, unknown>;
  pulumi: typeof pulumiType;
  ofType(type: string): Recorded[];
  named(name: string): Recorded;
}

export interface TestSecrets {
  sshPrivateKey: string;
  sshPublicKey: string;
}

/** A deployer key pair generated once per test process (so no private key sits in the repo). */
export const deployerKey: TestSecrets = (() => {
  const pair = generateEd25519KeyPair("deployer@test");
  return { sshPrivateKey: pair.privateKey, sshPublicKey: pair.publicKey };
})();

/** Reads a stack file's config, with the test key pair swapped in and the secrets a stack would set. */
export function stackConfig(stack: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const file = parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
    config: Record<string, unknown>;
  };
  return {
    ...file.config,
    "hcloud:token": "t".repeat(64),
    "hcloud-deploy:sshPublicKey": deployerKey.sshPublicKey,
    "hcloud-deploy:sshPrivateKey": deployerKey.sshPrivateKey,
    "hcloud-deploy:registryPushToken": "push-token-value",
    "hcloud-deploy:registryPullToken": "pull-token-value",
    "hcloud-deploy:appSecrets": {
      api: { DATABASE_URL: "postgres://db-secret-value" },
      db: { POSTGRES_PASSWORD: "db-password-value" },
    },
    ...extra,
  };
}

export const SECRET_KEYS = [
  "hcloud:token",
  "hcloud-deploy:sshPrivateKey",
  "hcloud-deploy:registryPushToken",
  "hcloud-deploy:registryPullToken",
  "hcloud-deploy:appSecrets",
  "hcloud-deploy:ciGithubToken",
  "hcloud-deploy:ciPulumiAccessToken",
  "hcloud-deploy:ciPulumiConfigPassphrase",
];

let nextIp = 1;
const nextPrivateIp: Record<string, number> = {};

/** The network the mocked provider gives a primary IP: fixed per resource name. */
export function mockedIpNetwork(primaryIpName: string): string {
  return `2001:db8:${crypto.createHash("sha256").update(primaryIpName).digest("hex").slice(0, 4)}::/64`;
}

/**
 * IDs per run: the hcloud resources whose IDs programs turn into numbers get numeric ones (from 7001,
 * 8001, 9001 in registration order), a subnet `<network>-<range>` as the provider writes it, the rest
 * `<name>-id`.
 */
function mockIds(): (type: string, name: string, inputs: Record<string, any>) => string {
  const next: Record<string, number> = {
    "hcloud:index/network:Network": 7001,
    "hcloud:index/loadBalancer:LoadBalancer": 8001,
    "hcloud:index/managedCertificate:ManagedCertificate": 9001,
  };
  return (type, name, inputs) => {
    if (type === "hcloud:index/networkSubnet:NetworkSubnet") return `${inputs.networkId}-${inputs.ipRange}`;
    if (type in next) return String(next[type]++);
    return `${name}-id`;
  };
}

/** What the mocked providers answer; every other type echoes its inputs. */
function mockState(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
  switch (type) {
    case "hcloud:index/server:Server":
      return { ...inputs, ipv6Address: `2001:db8:0:${(nextIp++).toString(16)}::1`, status: "running" };
    case "hcloud:index/primaryIp:PrimaryIp":
      return { ...inputs, ipNetwork: mockedIpNetwork(name) };
    case "hcloud:index/loadBalancer:LoadBalancer":
      return { ...inputs, ipv4: "203.0.113.10", ipv6: "2001:db8:4b::1" };
    case "hcloud:index/serverNetwork:ServerNetwork": {
      // As the API does without a requested ip: the subnet's next free address, from .2 (.1 is the gateway).
      const subnet = /-(\d+\.\d+\.\d+)\.0\/24$/.exec(String(inputs.subnetId))?.[1] ?? "10.0.0";
      nextPrivateIp[subnet] = (nextPrivateIp[subnet] ?? 1) + 1;
      return { ...inputs, ip: `${subnet}.${nextPrivateIp[subnet]}` };
    }
    case "pulumi-nodejs:dynamic/hcloud-deploy:SshHostKey":
      return { ...inputs, ...generateEd25519KeyPair(inputs.comment) };
    case "docker:index/image:Image":
      return { ...inputs, repoDigest: mockedRepoDigest(String(inputs.imageName)) };
    case "command:local:Command": {
      // An image index push prints the index's digest reference.
      const index = /^index='(.+):[^:']+'$/m.exec(String(inputs.environment?.HCLOUD_DEPLOY_SCRIPT ?? ""));
      if (index) {
        const digest = crypto.createHash("sha256").update(name).digest("hex");
        return { ...inputs, stdout: `${index[1]}@sha256:${digest}\n`, stderr: "" };
      }
      return { ...inputs, stdout: `ran ${name}`, stderr: "" };
    }
    case "command:remote:Command":
      return { ...inputs, stdout: `ran ${name}`, stderr: "" };
    default:
      return inputs;
  }
}

const SECRET_SIG = "4dabf18193072939515e22adb298388d";

/** Mocks receive secrets wrapped in a signature object; tests want the plain values. */
export function unwrapSecrets(value: any): any {
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (value && typeof value === "object") {
    if (SECRET_SIG in value) return unwrapSecrets(value.value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

function toConfigValue(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Settles the program: waits until no new resource has registered for a few event-loop turns. */
export async function settle(resources: Recorded[]): Promise<void> {
  let stableTurns = 0;
  let last = -1;
  while (stableTurns < 5) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    stableTurns = resources.length === last ? stableTurns + 1 : 0;
    last = resources.length;
  }
}

export function outputValue<T>(pulumi: typeof pulumiType, output: pulumiType.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(output).apply((v) => resolve(v as T)));
}

export async function freshRuntime(
  config: Record<string, unknown>,
  stack: string,
  mocks: pulumiType.runtime.Mocks,
) {
  jest.resetModules();
  const pulumi: typeof pulumiType = await import("@pulumi/pulumi");
  const values = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, toConfigValue(v)]));
  pulumi.runtime.setAllConfig(
    values,
    SECRET_KEYS.filter((k) => k in values),
  );
  await pulumi.runtime.setMocks(mocks, "hcloud-deploy", stack, false, "organization");
  return pulumi;
}

/**
 * Records every resource a program registers: the options and Outputs-intact props from a stack
 * transformation, the plain inputs from the mock's newResource. Start it inside runInPulumiStack.
 */
export class ResourceRecorder {
  readonly resources: Recorded[] = [];
  private readonly byTypeAndName = new Map<string, Recorded>();

  start(pulumi: typeof pulumiType): void {
    pulumi.runtime.registerStackTransformation((args) => {
      const record: Recorded = {
        type: args.type,
        name: args.name,
        inputs: {},
        props: args.props as Record<string, any>,
        opts: args.opts as pulumiType.CustomResourceOptions,
        parentName: (args.opts.parent as { __name?: string } | undefined)?.__name,
      };
      this.resources.push(record);
      this.byTypeAndName.set(`${args.type}::${args.name}`, record);
      return undefined;
    });
  }

  /** Notes what the engine received for a resource; returns those inputs with secrets unwrapped. */
  received(args: pulumiType.runtime.MockResourceArgs): Record<string, any> {
    const inputs = unwrapSecrets(args.inputs);
    const record = this.byTypeAndName.get(`${args.type}::${args.name}`);
    if (record) record.inputs = inputs;
    return inputs;
  }
}

export const noResources: pulumiType.runtime.Mocks = {
  newResource: (args) => {
    throw new Error(`unexpected resource ${args.type}`);
  },
  call: (args) => {
    throw new Error(`unexpected call ${args.token}`);
  },
};

/** Runs the config loader alone against the given stack config, as the program's first step does. */
export async function loadConfigWith(config: Record<string, unknown>, stack = "dev") {
  await freshRuntime(config, stack, noResources);
  const { loadConfig } = await import("../../../config/loader");
  return loadConfig();
}

/** What a program or component registered under mocks. */
export interface MockedRun extends ProgramRun {
  /** The inputs exactly as the engine received them, secret markers intact. */
  rawInputs: Map<string, Record<string, any>>;
}

/**
 * Runs `body` inside a Pulumi stack under mocks with the given config and returns every resource it
 * registered. A fresh module registry per run, so @pulumi/pulumi's global state starts clean: `body`
 * must import what it constructs (`await import(...)`) to get modules bound to that runtime.
 */
export interface MockOptions {
  stack?: string;
  /** The stack's outputs from its last deployment, as the program reads them. Default: none. */
  previousOutputs?: Record<string, unknown>;
  /** Where the preflight reads the catalog (runProgram). Default: the recorded catalog on loopback. */
  catalogEndpoint?: string;
  /** Filled with `type::name` of every resource the engine received, also when the program fails. */
  registered?: string[];
}

export async function runUnderMocks(
  config: Record<string, unknown>,
  body: (pulumi: typeof pulumiType) => Promise<Record<string, unknown> | void>,
  opts: MockOptions = {},
): Promise<MockedRun> {
  const recorder = new ResourceRecorder();
  const rawInputs = new Map<string, Record<string, any>>();
  const mockId = mockIds();
  const pulumi = await freshRuntime(config, opts.stack ?? "dev", {
    newResource: (args) => {
      rawInputs.set(args.name, args.inputs);
      opts.registered?.push(`${args.type}::${args.name}`);
      const inputs = recorder.received(args);
      return {
        id: mockId(args.type, args.name, inputs),
        state: mockState(args.type, args.name, inputs),
      };
    },
    // The program reads its own last outputs through the engine's built-in invoke.
    call: (args) =>
      args.token === READ_STACK_OUTPUTS
        ? { name: args.inputs.name, outputs: opts.previousOutputs ?? {}, secretOutputNames: [] }
        : noResources.call(args),
  });
  const resources = recorder.resources;
  const outputs = (await pulumi.runtime
    .runInPulumiStack(async () => {
      recorder.start(pulumi);
      return (await body(pulumi)) ?? {};
    })
    .catch((err: unknown) => {
      // The real runtime reports a failed program once and exits; under mocks the stack's own data
      // promise would reject again, unhandled, in a later test. Handled here, the error is seen once.
      const stack = pulumi.runtime.getStackResource() as unknown as {
        __data?: Promise<unknown>;
        outputs?: { isKnown: Promise<boolean>; isSecret: Promise<boolean> };
      };
      for (const promise of [stack.__data, stack.outputs?.isKnown, stack.outputs?.isSecret]) {
        promise?.catch(() => undefined);
      }
      throw err;
    })) as Record<string, unknown>;
  await settle(resources);
  return { resources, rawInputs, outputs, pulumi, ...lookups(resources) };
}

/** The repo digest the mocks give a built image: derived from its name and tag. */
export function mockedRepoDigest(imageName: string): string {
  const repo = imageName.replace(/:[^:/]+$/, "");
  return `${repo}@sha256:${crypto.createHash("sha256").update(imageName).digest("hex")}`;
}

let recordedCatalogServer: Promise<CatalogServer> | undefined;

/**
 * Runs index.ts under Pulumi mocks with the given stack config: the whole program's wiring. Its preflight
 * reads the recorded catalog from a loopback server, whatever `hcloud:endpoint` the stack file names, and
 * prebuilt images from the fake registry (fakeImage registers them).
 */
export async function runProgram(
  config: Record<string, unknown>,
  opts: MockOptions = {},
): Promise<MockedRun> {
  recordedCatalogServer ??= serveCatalog();
  installFakeRegistry();
  // Each run's hosts get private IPs from .2 up, in host order, whatever ran before.
  for (const subnet of Object.keys(nextPrivateIp)) delete nextPrivateIp[subnet];
  const endpoint = opts.catalogEndpoint ?? (await recordedCatalogServer).endpoint;
  return runUnderMocks(
    { ...config, "hcloud:endpoint": endpoint },
    async () => (await import("../../../index")).default(),
    opts,
  );
}

/** Finders over recorded resources; `named` fails listing what there is. */
export function lookups(resources: Recorded[]): Pick<ProgramRun, "ofType" | "named"> {
  return {
    ofType: (type) => resources.filter((r) => r.type === type),
    named: (name) => {
      const found = resources.find((r) => r.name === name);
      if (!found)
        throw new Error(`no resource named ${name}; have ${resources.map((r) => r.name).join(", ")}`);
      return found;
    },
  };
}
