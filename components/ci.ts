import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { CI_BRANCH, CI_ENVIRONMENT, CiEnabled, REQUIRED_CHECKS } from "./ciConfig";

/** `PULUMI_ACCESS_TOKEN` → `pulumi-access-token`, for child resource names. */
function kebab(name: string): string {
  return name.toLowerCase().replace(/_/g, "-");
}

export interface CiSetupArgs {
  /** The validated, enabled `hcloud-deploy:ci` block. */
  readonly ci: CiEnabled;
  /** Token the GitHub provider acts with (secret); needs admin rights on the repository. */
  readonly githubToken: pulumi.Input<string>;
  /** Value of every Actions secret in `ci.secrets`, by secret name (each one secret). */
  readonly secretValues: Readonly<Record<string, pulumi.Input<string>>>;
}

/**
 * What the workflows in .github/workflows need from GitHub, managed as code: the Actions secrets and
 * variables, the `production` environment (required reviewers, deployable from main only) and branch
 * protection on main requiring the test and preview checks.
 */
export class CiSetup extends pulumi.ComponentResource {
  constructor(name: string, args: CiSetupArgs, opts?: pulumi.ComponentResourceOptions) {
    const missing = args.ci.secrets.find((s) => !(s.name in args.secretValues));
    if (missing) throw new Error(`CiSetup ${name}: no value for Actions secret ${missing.name}`);
    super("hcloud-deploy:ci:CiSetup", name, {}, opts);
    const { ci } = args;
    const repository = ci.repository;

    // An explicit provider, so an ambient GITHUB_TOKEN (e.g. inside a workflow) can never stand in for
    // the admin token, and the owner comes from validated config.
    const provider = new github.Provider(
      `${name}-github`,
      { owner: ci.owner, token: pulumi.secret(args.githubToken) },
      { parent: this },
    );
    const child = { parent: this, provider };

    for (const source of ci.secrets) {
      new github.ActionsSecret(
        `${name}-secret-${kebab(source.name)}`,
        { repository, secretName: source.name, value: pulumi.secret(args.secretValues[source.name]) },
        child,
      );
    }
    for (const [variableName, value] of Object.entries(ci.variables)) {
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
        reviewers: [{ users: [...ci.reviewers.users], teams: [...ci.reviewers.teams] }],
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
