import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";

/** The branch that deploys; the workflows in .github/workflows are written for it. */
export const CI_BRANCH = "main";
/** The GitHub environment that guards `pulumi up` on prod (and prod rollbacks). */
export const CI_ENVIRONMENT = "production";
/**
 * The checks branch protection requires: the job names of .github/workflows/pull-request.yml, which is
 * what GitHub names their check runs (a unit test keeps the two in step).
 */
export const REQUIRED_CHECKS = ["test", "preview (dev)", "preview (prod)"] as const;

/** `PULUMI_ACCESS_TOKEN` → `pulumi-access-token`, for child resource names. */
function kebab(name: string): string {
  return name.toLowerCase().replace(/_/g, "-");
}

/** Who approves jobs in the production environment. */
export interface CiReviewers {
  /** Numeric GitHub user IDs (`gh api users/<login> --jq .id`). */
  readonly users: readonly number[];
  /** Numeric GitHub team IDs (`gh api orgs/<org>/teams/<slug> --jq .id`). */
  readonly teams: readonly number[];
}

export interface CiSetupArgs {
  /** User or organisation owning the repository. */
  readonly owner: string;
  /** Repository name, without the owner. */
  readonly repository: string;
  /** Approvers of the production environment (at least one). */
  readonly reviewers: CiReviewers;
  /** Token the GitHub provider acts with (secret); needs admin rights on the repository. */
  readonly githubToken: pulumi.Input<string>;
  /** Actions secrets by name, created in this order (each value secret). Default: none. */
  readonly secrets?: Readonly<Record<string, pulumi.Input<string>>>;
  /** Actions variables by name (plain values). Default: none. */
  readonly variables?: Readonly<Record<string, string>>;
}

/**
 * What the workflows in .github/workflows need from GitHub, managed as code: the Actions secrets and
 * variables, the `production` environment (required reviewers, deployable from main only) and branch
 * protection on main requiring the test and preview checks.
 */
export class CiSetup extends pulumi.ComponentResource {
  constructor(name: string, args: CiSetupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("hcloud-deploy:ci:CiSetup", name, {}, opts);
    const { repository } = args;

    // An explicit provider, so an ambient GITHUB_TOKEN (e.g. inside a workflow) can never stand in for
    // the admin token, and the owner comes from validated config.
    const provider = new github.Provider(
      `${name}-github`,
      { owner: args.owner, token: pulumi.secret(args.githubToken) },
      { parent: this },
    );
    const child = { parent: this, provider };

    for (const [secretName, value] of Object.entries(args.secrets ?? {})) {
      new github.ActionsSecret(
        `${name}-secret-${kebab(secretName)}`,
        { repository, secretName, value: pulumi.secret(value) },
        child,
      );
    }
    for (const [variableName, value] of Object.entries(args.variables ?? {})) {
      new github.ActionsVariable(
        `${name}-variable-${kebab(variableName)}`,
        { repository, variableName, value },
        child,
      );
    }

    const environment = new github.RepositoryEnvironment(
      `${name}-${CI_ENVIRONMENT}`,
      {
        repository,
        environment: CI_ENVIRONMENT,
        reviewers: [{ users: [...args.reviewers.users], teams: [...args.reviewers.teams] }],
        // Reviewers are the gate to prod; admins go through it like everyone else.
        canAdminsBypass: false,
        // A one-person project must be able to approve its own deploys.
        preventSelfReview: false,
        deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true },
      },
      child,
    );
    new github.RepositoryEnvironmentDeploymentPolicy(
      `${name}-${CI_ENVIRONMENT}-${CI_BRANCH}`,
      { repository, environment: environment.environment, branchPattern: CI_BRANCH },
      child,
    );

    new github.BranchProtection(
      `${name}-${CI_BRANCH}-protection`,
      {
        repositoryId: repository,
        pattern: CI_BRANCH,
        // Up to date with main before merging, so the preview a reviewer read is what the merge deploys.
        requiredStatusChecks: [{ strict: true, contexts: [...REQUIRED_CHECKS] }],
        enforceAdmins: true,
        allowsForcePushes: false,
        allowsDeletions: false,
      },
      child,
    );

    this.registerOutputs({});
  }
}
