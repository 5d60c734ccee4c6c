import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CiSetupArgs, REQUIRED_CHECKS } from "../../../components/ciSetup";
import { runCiSetup } from "../support/ciMocks";
import { MockedRun, ROOT } from "../support/program";

const PUSH_TOKEN = "push-token-value";
const ARGS: CiSetupArgs = {
  owner: "example-org",
  repository: "hcloud-deploy",
  reviewers: { users: [1234567], teams: [89] },
  githubToken: "github-admin-token-value",
  secrets: { PULUMI_ACCESS_TOKEN: "pul-access-token-value", REGISTRY_PUSH_TOKEN: PUSH_TOKEN },
  variables: { DEPLOY_RUNNER: "ipv6" },
};

const T = {
  component: "hcloud-deploy:ci:CiSetup",
  provider: "pulumi:providers:github",
  secret: "github:index/actionsSecret:ActionsSecret",
  variable: "github:index/actionsVariable:ActionsVariable",
  environment: "github:index/repositoryEnvironment:RepositoryEnvironment",
  policy: "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy",
  protection: "github:index/branchProtection:BranchProtection",
};

function pullRequestJobNames(): string[] {
  const wf = parse(fs.readFileSync(path.join(ROOT, ".github/workflows/pull-request.yml"), "utf8"));
  return Object.values(wf.jobs as Record<string, { name: string }>).map((j) => j.name);
}

describe("CiSetup constructed directly under mocks", () => {
  let run: MockedRun;
  beforeAll(async () => {
    run = await runCiSetup(ARGS);
  });

  test("exactly these resources, in this order", () => {
    expect(run.resources.map((r) => [r.type, r.name])).toEqual([
      [T.component, "ci"],
      [T.provider, "ci-github"],
      [T.secret, "ci-secret-pulumi-access-token"],
      [T.secret, "ci-secret-registry-push-token"],
      [T.variable, "ci-variable-deploy-runner"],
      [T.environment, "ci-production"],
      [T.policy, "ci-production-main"],
      [T.protection, "ci-main-protection"],
    ]);
  });

  test("every child hangs off the component; every github resource uses the explicit provider", () => {
    for (const r of run.resources.slice(1)) {
      expect([r.name, r.parentName]).toEqual([r.name, "ci"]);
    }
    for (const r of run.resources.filter((r) => r.type.startsWith("github:"))) {
      expect([r.name, (r.opts.provider as unknown as { __name: string }).__name]).toEqual([
        r.name,
        "ci-github",
      ]);
    }
  });

  test("the provider acts for the configured owner with the admin token, kept secret", async () => {
    const provider = run.named("ci-github");
    expect(provider.inputs).toMatchObject({ owner: "example-org", token: "github-admin-token-value" });
    expect(await run.pulumi.isSecret(provider.props.token)).toBe(true);
  });

  test.each([
    ["ci-secret-pulumi-access-token", "PULUMI_ACCESS_TOKEN", "pul-access-token-value"],
    ["ci-secret-registry-push-token", "REGISTRY_PUSH_TOKEN", PUSH_TOKEN],
  ])("%s: Actions secret %s carries the config secret and stays secret", async (name, secretName, value) => {
    const secret = run.named(name);
    expect(secret.inputs).toEqual({ repository: "hcloud-deploy", secretName, value });
    expect(await run.pulumi.isSecret(secret.props.value)).toBe(true);
    // The engine received the value wrapped as a secret, so state keeps it encrypted.
    expect(run.rawInputs.get(name)?.value).toEqual(expect.objectContaining({ value }));
    expect(Object.keys(run.rawInputs.get(name)?.value ?? {})).toContain("4dabf18193072939515e22adb298388d");
  });

  test("no secret value appears in any input other than the secret fields", () => {
    const values = ["github-admin-token-value", "pul-access-token-value", PUSH_TOKEN];
    for (const r of run.resources) {
      const { value: _value, token: _token, ...rest } = r.inputs;
      for (const v of values) expect([r.name, JSON.stringify(rest).includes(v)]).toEqual([r.name, false]);
    }
  });

  test("the runner label becomes the DEPLOY_RUNNER variable, and nothing else is a variable", () => {
    expect(run.ofType(T.variable).map((r) => r.inputs)).toEqual([
      { repository: "hcloud-deploy", variableName: "DEPLOY_RUNNER", value: "ipv6" },
    ]);
  });

  test("production environment: the configured reviewers, no admin bypass, custom branch policy", () => {
    expect(run.named("ci-production").inputs).toEqual({
      repository: "hcloud-deploy",
      environment: "production",
      reviewers: [{ users: [1234567], teams: [89] }],
      canAdminsBypass: false,
      preventSelfReview: false,
      deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true },
    });
  });

  test("only main may deploy to production", () => {
    expect(run.named("ci-production-main").inputs).toEqual({
      repository: "hcloud-deploy",
      environment: "production",
      branchPattern: "main",
    });
  });

  test("main requires the test and preview checks, up to date, for admins too", () => {
    expect(run.named("ci-main-protection").inputs).toEqual({
      repositoryId: "hcloud-deploy",
      pattern: "main",
      requiredStatusChecks: [{ strict: true, contexts: ["test", "preview (dev)", "preview (prod)"] }],
      enforceAdmins: true,
      allowsForcePushes: false,
      allowsDeletions: false,
    });
  });

  test("the required checks are exactly the job names of the pull-request workflow", () => {
    expect(pullRequestJobNames()).toEqual([...REQUIRED_CHECKS]);
    expect(run.named("ci-main-protection").inputs.requiredStatusChecks[0].contexts).toEqual(
      pullRequestJobNames(),
    );
  });
});

describe("CiSetup with other secrets and variables", () => {
  let run: MockedRun;
  beforeAll(async () => {
    run = await runCiSetup({
      ...ARGS,
      secrets: { PULUMI_CONFIG_PASSPHRASE: "config-passphrase-value", REGISTRY_PUSH_TOKEN: PUSH_TOKEN },
      variables: { PULUMI_BACKEND_URL: "s3://example-state" },
    });
  });

  test("creates exactly the secrets and variables it is given, in order, secrets kept secret", async () => {
    expect(run.ofType(T.secret).map((r) => [r.name, r.inputs.secretName])).toEqual([
      ["ci-secret-pulumi-config-passphrase", "PULUMI_CONFIG_PASSPHRASE"],
      ["ci-secret-registry-push-token", "REGISTRY_PUSH_TOKEN"],
    ]);
    const passphrase = run.named("ci-secret-pulumi-config-passphrase");
    expect(passphrase.inputs.value).toBe("config-passphrase-value");
    expect(await run.pulumi.isSecret(passphrase.props.value)).toBe(true);
    expect(run.ofType(T.variable).map((r) => [r.name, r.inputs.variableName, r.inputs.value])).toEqual([
      ["ci-variable-pulumi-backend-url", "PULUMI_BACKEND_URL", "s3://example-state"],
    ]);
  });
});

describe("CiSetup without secrets or variables", () => {
  test("only the provider, environment, policy and branch protection", async () => {
    const { secrets: _s, variables: _v, ...bare } = ARGS;
    const run = await runCiSetup(bare);
    expect(run.resources.map((r) => r.name)).toEqual([
      "ci",
      "ci-github",
      "ci-production",
      "ci-production-main",
      "ci-main-protection",
    ]);
  });
});
