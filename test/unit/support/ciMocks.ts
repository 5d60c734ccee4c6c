import type * as pulumiType from "@pulumi/pulumi";
import { CI_SECRET_KEYS } from "../../../components/ciConfig";
import { lookups, Recorded, SECRET_KEYS, settle, unwrapSecrets } from "./program";

/** What a stack sets for the CI block: its secrets, as `pulumi config set --secret` would. */
export const CI_SECRETS = {
  "hcloud-deploy:ciGithubToken": "github-admin-token-value",
  "hcloud-deploy:ciPulumiAccessToken": "pul-access-token-value",
  "hcloud-deploy:ciPulumiConfigPassphrase": "config-passphrase-value",
};

const CI_SECRET_CONFIG_KEYS = CI_SECRET_KEYS.map((k) => `hcloud-deploy:${k}`);

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
  jest.resetModules();
  const pulumi: typeof pulumiType = await import("@pulumi/pulumi");
  const values = Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
  pulumi.runtime.setAllConfig(
    values,
    [...new Set([...SECRET_KEYS, ...CI_SECRET_CONFIG_KEYS])].filter((k) => k in values),
  );
  const resources: Recorded[] = [];
  const rawInputs = new Map<string, Record<string, any>>();
  const byName = new Map<string, Recorded>();
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        rawInputs.set(args.name, args.inputs);
        const record = byName.get(args.name);
        if (record) record.inputs = unwrapSecrets(args.inputs);
        return { id: `${args.name}-id`, state: unwrapSecrets(args.inputs) };
      },
      call: (args) => {
        throw new Error(`unexpected call ${args.token}`);
      },
    },
    "hcloud-deploy",
    stack,
    false,
  );

  await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      const record: Recorded = {
        type: args.type,
        name: args.name,
        inputs: {},
        props: args.props as Record<string, any>,
        opts: args.opts as pulumiType.CustomResourceOptions,
        parentName: (args.opts.parent as { __name?: string } | undefined)?.__name,
      };
      resources.push(record);
      byName.set(args.name, record);
      return undefined;
    });
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
