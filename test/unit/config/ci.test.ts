import { CiPlainSecrets, parseCiConfig } from "../../../config/ci";
import { ConfigError } from "../../../config/reader";
import { CI_BLOCK as BLOCK, CI_SECRETS } from "../support/ciMocks";

const PUSH_TOKEN = "push-token-value";
const PLAIN: CiPlainSecrets = {
  ciGithubToken: CI_SECRETS["hcloud-deploy:ciGithubToken"],
  ciPulumiAccessToken: CI_SECRETS["hcloud-deploy:ciPulumiAccessToken"],
  registryPushToken: PUSH_TOKEN,
};

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

describe("with the CI block off, nothing else in it is read and no CI secret is needed", () => {
  test.each([
    ["absent", undefined],
    ["empty", {}],
    ["enabled: false", { ...BLOCK, enabled: false }],
    ['enabled: "false" (as pulumi config set writes it)', { ...BLOCK, enabled: "false" }],
    ["enabled: false with an otherwise invalid block", { enabled: false, owner: 42 }],
  ])("%s", (_what, block) => {
    expect(parseCiConfig("prod", block, {})).toEqual({ enabled: false });
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
