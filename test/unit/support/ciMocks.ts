import type * as pulumiType from "@pulumi/pulumi";
import { CI_SECRET_KEYS } from "../../../components/ciConfig";
import { freshRuntime, lookups, noResources, Recorded, ResourceRecorder, settle } from "./program";

/** A valid, enabled CI block, as a stack file would hold it. */
export const CI_BLOCK = {
  enabled: true,
  owner: "example-org",
  repository: "hcloud-deploy",
  deployRunner: "ipv6",
  reviewers: { users: [1234567], teams: [89] },
};

/** What a stack sets for the CI block: its secrets, as `pulumi config set --secret` would. */
export const CI_SECRETS = {
  "hcloud-deploy:ciGithubToken": "github-admin-token-value",
  "hcloud-deploy:ciPulumiAccessToken": "pul-access-token-value",
  "hcloud-deploy:ciPulumiConfigPassphrase": "config-passphrase-value",
};

export interface CiRun {
  resources: Recorded[];
  /** The inputs exactly as the engine received them, secret markers intact. */
  rawInputs: Map<string, Record<string, any>>;
  pulumi: typeof pulumiType;
  ofType(type: string): Recorded[];
  named(name: string): Recorded;
}

/**
 * Parses the CI block of `config` and, when it is enabled, creates the CiSetup component under Pulumi
 * mocks, the way index.ts does: secret values come from `pulumi.Config.requireSecret`, so the test sees
 * what the real wiring produces. Records every resource registered.
 */
export async function runCiSetup(config: Record<string, unknown>, stack = "prod"): Promise<CiRun> {
  const recorder = new ResourceRecorder();
  const rawInputs = new Map<string, Record<string, any>>();
  const pulumi = await freshRuntime(config, stack, {
    newResource: (args) => {
      rawInputs.set(args.name, args.inputs);
      return { id: `${args.name}-id`, state: recorder.received(args) };
    },
    call: noResources.call,
  });
  const resources = recorder.resources;

  await pulumi.runtime.runInPulumiStack(async () => {
    recorder.start(pulumi);
    const { parseCiConfig } = await import("../../../components/ciConfig");
    const { CiSetup } = await import("../../../components/ci");
    const cfg = new pulumi.Config("hcloud-deploy");
    const plain = Object.fromEntries(
      [...CI_SECRET_KEYS, "registryPushToken" as const].map((k) => [k, cfg.get(k)]),
    );
    const ci = parseCiConfig(stack, cfg.getObject("ci"), plain);
    if (ci.enabled) {
      new CiSetup("ci", {
        ci,
        githubToken: cfg.requireSecret("ciGithubToken"),
        secretValues: Object.fromEntries(ci.secrets.map((s) => [s.name, cfg.requireSecret(s.configKey)])),
      });
    }
    return {};
  });
  await settle(resources);
  return {
    resources,
    rawInputs,
    pulumi,
    ...lookups(resources),
  };
}
