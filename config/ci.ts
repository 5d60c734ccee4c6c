import { CI_ENVIRONMENT, CiReviewers } from "../components/ciSetup";
import { configKey } from "./schema";
import { ConfigError, ConfigNode } from "./reader";

/**
 * Secret config keys (in the hcloud-deploy namespace) that only the CI block reads; Pulumi.yaml declares
 * them `secret: true`. `registryPushToken` is read as well, but it predates the block.
 */
export const CI_SECRET_KEYS = ["ciGithubToken", "ciPulumiAccessToken", "ciPulumiConfigPassphrase"] as const;
export type CiSecretKey = (typeof CI_SECRET_KEYS)[number] | "registryPushToken" | "sourceToken";

/** Plain values of the secrets, for validation only; the component gets them as secret Outputs. */
export type CiPlainSecrets = Partial<Record<CiSecretKey, string>>;

/** An Actions secret and the config key whose (secret) value it carries. */
export interface CiSecretSource {
  /** Name of the Actions secret, as the workflows read it (`secrets.<name>`). */
  readonly name: string;
  /** Config key in the hcloud-deploy namespace holding the value. */
  readonly configKey: CiSecretKey;
}

/** Every Actions secret the workflows read, in the order they are created. */
export const ACTIONS_SECRETS: readonly CiSecretSource[] = [
  { name: "PULUMI_ACCESS_TOKEN", configKey: "ciPulumiAccessToken" },
  { name: "PULUMI_CONFIG_PASSPHRASE", configKey: "ciPulumiConfigPassphrase" },
  { name: "REGISTRY_PUSH_TOKEN", configKey: "registryPushToken" },
  // Only for private repositories of apps built from build.git; created when the stack sets it.
  { name: "SOURCE_TOKEN", configKey: "sourceToken" },
];
/** Every Actions variable the workflows read. */
export const ACTIONS_VARIABLES = ["PULUMI_BACKEND_URL", "DEPLOY_RUNNER"] as const;
export type ActionsVariable = (typeof ACTIONS_VARIABLES)[number];

export interface CiEnabled {
  readonly enabled: true;
  /** User or organisation owning the repository. */
  readonly owner: string;
  /** Repository name, without the owner. */
  readonly repository: string;
  /** Who approves jobs in the production environment. */
  readonly reviewers: CiReviewers;
  /** Actions secrets to create, in order. */
  readonly secrets: readonly CiSecretSource[];
  /** Actions variables to create (plain values), by name. */
  readonly variables: Readonly<Partial<Record<ActionsVariable, string>>>;
}

export type CiConfig = { readonly enabled: false } | CiEnabled;

const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$/;
const REPOSITORY = /^[A-Za-z0-9._-]{1,100}$/;
const RUNNER_LABEL = /^[A-Za-z0-9._-]{1,100}$/;
const BACKEND_URL = /^(https?|s3|gs|azblob|file):\/\/\S+$/;
/** GitHub accepts at most six required reviewers, users and teams together. */
const MAX_REVIEWERS = 6;

function has(secrets: CiPlainSecrets, name: CiSecretKey): boolean {
  const value = secrets[name];
  return value !== undefined && value !== "";
}

function requireSecret(secrets: CiPlainSecrets, name: CiSecretKey, why: string): void {
  if (!has(secrets, name)) {
    throw new ConfigError(
      configKey(name),
      `is required ${why}: pulumi config set --secret ${configKey(name)} <value>`,
    );
  }
}

function parseIds(n: ConfigNode): number[] {
  const ids = n.optionalItems().map((item) => item.integer(1, Number.MAX_SAFE_INTEGER));
  const seen = new Set<number>();
  for (const id of ids) {
    if (seen.has(id)) n.fail(`lists ID ${id} twice`);
    seen.add(id);
  }
  return ids;
}

function parseReviewers(n: ConfigNode): CiReviewers {
  if (!n.present) n.fail('is required: { "users": [<user ID>], "teams": [<team ID>] }');
  const reviewers = { users: parseIds(n.field("users")), teams: parseIds(n.field("teams")) };
  n.done();
  const count = reviewers.users.length + reviewers.teams.length;
  if (count === 0)
    n.fail(`must name at least one user or team ID: ${CI_ENVIRONMENT} deploys need an approver`);
  if (count > MAX_REVIEWERS) n.fail(`names ${count} users and teams; GitHub allows at most ${MAX_REVIEWERS}`);
  return reviewers;
}

/**
 * Validates the `hcloud-deploy:ci` block. Pure, so tests can run it as a table. Absent, `{}` and
 * `enabled: false` all mean off, and then nothing else in the block is read: it can be switched off without
 * deleting it. Throws a ConfigError naming the first bad key.
 *
 * The block belongs in exactly one stack: repository secrets, the environment and branch protection are
 * per repository, and two stacks managing them would undo each other's changes.
 */
export function parseCiConfig(stack: string, raw: unknown, secrets: CiPlainSecrets): CiConfig {
  const n = new ConfigNode(configKey("ci"), raw as never);
  if (!n.present) return { enabled: false };
  n.object();
  const enabledNode = n.field("enabled");
  if (!enabledNode.boolean(false)) return { enabled: false };
  // The local stack runs against simulated hosts; it must never touch the real repository.
  if (stack === "local") enabledNode.fail('must not be true on the "local" stack');

  const owner = n.field("owner").matching(OWNER, "a GitHub user or organisation name");
  const repository = n.field("repository").matching(REPOSITORY, "a GitHub repository name (without owner)");
  const backendUrlNode = n.field("backendUrl");
  const backendUrl = backendUrlNode.present
    ? backendUrlNode.matching(
        BACKEND_URL,
        "a Pulumi backend URL (https://, s3://, gs://, azblob://, file://)",
      )
    : undefined;
  const deployRunnerNode = n.field("deployRunner");
  const deployRunner = deployRunnerNode.present
    ? deployRunnerNode.matching(RUNNER_LABEL, "a runner label (letters, digits, '.', '_', '-')")
    : undefined;
  const reviewers = parseReviewers(n.field("reviewers"));
  n.done();

  requireSecret(secrets, "ciGithubToken", "for the GitHub provider when hcloud-deploy:ci is enabled");
  // Pulumi Cloud needs an access token; a self-managed backend needs the passphrase that encrypts the
  // stacks' secrets. Stacks on Pulumi Cloud may be passphrase-encrypted too: a passphrase that is set is
  // copied whichever the backend.
  if (backendUrl === undefined) {
    requireSecret(secrets, "ciPulumiAccessToken", "for CI to reach Pulumi Cloud (or set ci.backendUrl)");
  } else {
    requireSecret(secrets, "ciPulumiConfigPassphrase", "for CI to decrypt stacks on ci.backendUrl");
  }
  requireSecret(secrets, "registryPushToken", "for the main workflow to push the images it builds");

  const variables: Partial<Record<ActionsVariable, string>> = {};
  if (backendUrl !== undefined) variables.PULUMI_BACKEND_URL = backendUrl;
  // Without it the workflows fall back to a GitHub-hosted runner, where deploys stop at the IPv6 check.
  if (deployRunner !== undefined) variables.DEPLOY_RUNNER = deployRunner;

  return {
    enabled: true,
    owner,
    repository,
    reviewers,
    secrets: ACTIONS_SECRETS.filter((s) => has(secrets, s.configKey)),
    variables,
  };
}
