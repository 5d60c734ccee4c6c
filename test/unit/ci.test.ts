import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { CiPlainSecrets, parseCiConfig, REQUIRED_CHECKS } from "../../components/ciConfig";
import { ConfigError } from "../../components/configReader";
import { CI_BLOCK as BLOCK, CI_SECRETS, CiRun, runCiSetup } from "./support/ciMocks";
import { ROOT, runProgram, stackConfig } from "./support/program";

const PUSH_TOKEN = "push-token-value";
const PLAIN: CiPlainSecrets = {
  ciGithubToken: CI_SECRETS["hcloud-deploy:ciGithubToken"],
  ciPulumiAccessToken: CI_SECRETS["hcloud-deploy:ciPulumiAccessToken"],
  registryPushToken: PUSH_TOKEN,
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

describe("CiSetup under mocks, Pulumi.prod.yaml with the CI block on (Pulumi Cloud)", () => {
  let run: CiRun;
  beforeAll(async () => {
    run = await runCiSetup(
      stackConfig("prod", {
        "hcloud-deploy:ci": BLOCK,
        "hcloud-deploy:ciGithubToken": CI_SECRETS["hcloud-deploy:ciGithubToken"],
        "hcloud-deploy:ciPulumiAccessToken": CI_SECRETS["hcloud-deploy:ciPulumiAccessToken"],
      }),
    );
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
    const values = [...Object.values(CI_SECRETS), PUSH_TOKEN];
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

  test("a secret without a value is refused", async () => {
    const { CiSetup } = await import("../../components/ci");
    const ci = parseCiConfig("prod", BLOCK, PLAIN);
    if (!ci.enabled) throw new Error("expected the block to be on");
    expect(
      () => new CiSetup("broken", { ci, githubToken: "t", secretValues: { REGISTRY_PUSH_TOKEN: "p" } }),
    ).toThrow("CiSetup broken: no value for Actions secret PULUMI_ACCESS_TOKEN");
  });

  test("the required checks are exactly the job names of the pull-request workflow", () => {
    expect(pullRequestJobNames()).toEqual([...REQUIRED_CHECKS]);
    expect(run.named("ci-main-protection").inputs.requiredStatusChecks[0].contexts).toEqual(
      pullRequestJobNames(),
    );
  });
});

describe("CiSetup under mocks, self-managed backend", () => {
  let run: CiRun;
  beforeAll(async () => {
    const { deployRunner: _runner, ...block } = BLOCK;
    run = await runCiSetup(
      stackConfig("prod", {
        "hcloud-deploy:ci": { ...block, backendUrl: "s3://example-state" },
        "hcloud-deploy:ciGithubToken": CI_SECRETS["hcloud-deploy:ciGithubToken"],
        "hcloud-deploy:ciPulumiConfigPassphrase": CI_SECRETS["hcloud-deploy:ciPulumiConfigPassphrase"],
      }),
    );
  });

  test("the passphrase instead of an access token, and the backend URL as a variable", async () => {
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

describe("parseCiConfig picks the Actions secrets and variables", () => {
  test.each([
    ["Pulumi Cloud", {}, PLAIN, ["PULUMI_ACCESS_TOKEN", "REGISTRY_PUSH_TOKEN"], ["DEPLOY_RUNNER"]],
    [
      "Pulumi Cloud with passphrase-encrypted stacks",
      {},
      { ...PLAIN, ciPulumiConfigPassphrase: "p" },
      ["PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "REGISTRY_PUSH_TOKEN"],
      ["DEPLOY_RUNNER"],
    ],
    [
      "self-managed",
      { backendUrl: "gs://state" },
      { ...PLAIN, ciPulumiAccessToken: undefined, ciPulumiConfigPassphrase: "p" },
      ["PULUMI_CONFIG_PASSPHRASE", "REGISTRY_PUSH_TOKEN"],
      ["PULUMI_BACKEND_URL", "DEPLOY_RUNNER"],
    ],
    [
      "self-hosted Pulumi Cloud",
      { backendUrl: "https://api.pulumi.example.com", deployRunner: undefined },
      { ...PLAIN, ciPulumiConfigPassphrase: "p" },
      ["PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "REGISTRY_PUSH_TOKEN"],
      ["PULUMI_BACKEND_URL"],
    ],
  ])("%s", (_what, extra, secrets, secretNames, variableNames) => {
    const ci = parseCiConfig("prod", JSON.parse(JSON.stringify({ ...BLOCK, ...extra })), secrets);
    if (!ci.enabled) throw new Error("expected the block to be on");
    expect(ci.secrets.map((s) => s.name)).toEqual(secretNames);
    expect(Object.keys(ci.variables)).toEqual(variableNames);
    expect(ci).toMatchObject({ owner: "example-org", repository: "hcloud-deploy" });
  });
});

describe("with the CI block off, nothing is created and no CI secret is needed", () => {
  test.each([
    ["absent", undefined],
    ["empty", {}],
    ["enabled: false", { ...BLOCK, enabled: false }],
    ['enabled: "false" (as pulumi config set writes it)', { ...BLOCK, enabled: "false" }],
    ["enabled: false with an otherwise invalid block", { enabled: false, owner: 42 }],
  ])("%s", async (_what, block) => {
    expect(parseCiConfig("prod", block, {})).toEqual({ enabled: false });
    const run = await runCiSetup(
      stackConfig("prod", block === undefined ? {} : { "hcloud-deploy:ci": block }),
    );
    expect(run.resources).toEqual([]);
  });

  test("the program under mocks registers no github resource", async () => {
    const run = await runProgram(stackConfig("prod", { "hcloud-deploy:ci": { ...BLOCK, enabled: false } }), {
      stack: "prod",
    });
    expect(run.resources.length).toBeGreaterThan(0);
    expect(run.resources.filter((r) => r.type.startsWith("github:") || r.type.includes(":github"))).toEqual(
      [],
    );
  });
});

describe("invalid CI blocks are rejected with one line naming the key", () => {
  const without = (key: keyof typeof BLOCK) => {
    const { [key]: _dropped, ...rest } = BLOCK;
    return rest;
  };
  test.each<[string, unknown, CiPlainSecrets, string, string?]>([
    ["not an object", "yes", PLAIN, 'hcloud-deploy:ci: must be an object, got string "yes"'],
    [
      "enabled not a boolean",
      { enabled: "yes" },
      PLAIN,
      'hcloud-deploy:ci.enabled: must be true or false, got string "yes"',
    ],
    [
      "enabled on local",
      BLOCK,
      PLAIN,
      'hcloud-deploy:ci.enabled: must not be true on the "local" stack',
      "local",
    ],
    ["no owner", without("owner"), PLAIN, "hcloud-deploy:ci.owner: is required"],
    [
      "bad owner",
      { ...BLOCK, owner: "-org" },
      PLAIN,
      'hcloud-deploy:ci.owner: "-org" is not a GitHub user or organisation name',
    ],
    [
      "owner/name as repository",
      { ...BLOCK, repository: "example-org/hcloud-deploy" },
      PLAIN,
      'hcloud-deploy:ci.repository: "example-org/hcloud-deploy" is not a GitHub repository name (without owner)',
    ],
    [
      "backend URL without scheme",
      { ...BLOCK, backendUrl: "my-bucket" },
      PLAIN,
      `hcloud-deploy:ci.backendUrl: "my-bucket" is not a Pulumi backend URL (https://, s3://, gs://, azblob://, file://)`,
    ],
    [
      "runner label with a space",
      { ...BLOCK, deployRunner: "self hosted" },
      PLAIN,
      `hcloud-deploy:ci.deployRunner: "self hosted" is not a runner label (letters, digits, '.', '_', '-')`,
    ],
    [
      "no reviewers",
      without("reviewers"),
      PLAIN,
      'hcloud-deploy:ci.reviewers: is required: { "users": [<user ID>], "teams": [<team ID>] }',
    ],
    [
      "empty reviewers",
      { ...BLOCK, reviewers: { users: [], teams: [] } },
      PLAIN,
      "hcloud-deploy:ci.reviewers: must name at least one user or team ID: production deploys need an approver",
    ],
    [
      "a login instead of an ID",
      { ...BLOCK, reviewers: { users: ["octocat"] } },
      PLAIN,
      'hcloud-deploy:ci.reviewers.users[0]: must be an integer, got string "octocat"',
    ],
    [
      "ID 0",
      { ...BLOCK, reviewers: { teams: [0] } },
      PLAIN,
      "hcloud-deploy:ci.reviewers.teams[0]: 0 is out of range (1-9007199254740991)",
    ],
    [
      "seven reviewers",
      { ...BLOCK, reviewers: { users: [1, 2, 3, 4], teams: [5, 6, 7] } },
      PLAIN,
      "hcloud-deploy:ci.reviewers: names 7 users and teams; GitHub allows at most 6",
    ],
    [
      "a user twice",
      { ...BLOCK, reviewers: { users: [5, 5] } },
      PLAIN,
      "hcloud-deploy:ci.reviewers.users: lists ID 5 twice",
    ],
    [
      "unknown reviewers field",
      { ...BLOCK, reviewers: { users: [1], groups: [2] } },
      PLAIN,
      'hcloud-deploy:ci.reviewers: unknown field "groups"',
    ],
    ["unknown field", { ...BLOCK, branch: "main" }, PLAIN, 'hcloud-deploy:ci: unknown field "branch"'],
    [
      "no GitHub token",
      BLOCK,
      { ...PLAIN, ciGithubToken: undefined },
      "hcloud-deploy:ciGithubToken: is required for the GitHub provider when hcloud-deploy:ci is enabled: " +
        "pulumi config set --secret hcloud-deploy:ciGithubToken <value>",
    ],
    [
      "Pulumi Cloud without an access token",
      BLOCK,
      { ...PLAIN, ciPulumiAccessToken: "" },
      "hcloud-deploy:ciPulumiAccessToken: is required for CI to reach Pulumi Cloud (or set ci.backendUrl): " +
        "pulumi config set --secret hcloud-deploy:ciPulumiAccessToken <value>",
    ],
    [
      "self-managed without a passphrase",
      { ...BLOCK, backendUrl: "s3://state" },
      PLAIN,
      "hcloud-deploy:ciPulumiConfigPassphrase: is required for CI to decrypt stacks on ci.backendUrl: " +
        "pulumi config set --secret hcloud-deploy:ciPulumiConfigPassphrase <value>",
    ],
    [
      "no push token",
      BLOCK,
      { ...PLAIN, registryPushToken: undefined },
      "hcloud-deploy:registryPushToken: is required for the main workflow to push the images it builds: " +
        "pulumi config set --secret hcloud-deploy:registryPushToken <value>",
    ],
  ])("%s", (_what, block, secrets, message, stack = "prod") => {
    let error: unknown;
    try {
      parseCiConfig(stack, block, secrets);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toBe(message);
    expect((error as Error).message).not.toContain("\n");
  });
});
