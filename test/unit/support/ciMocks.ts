import type { CiSetupArgs } from "../../../components/ciSetup";
import { MockedRun, runUnderMocks } from "./program";

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

/**
 * Constructs one CiSetup named "ci" directly under mocks. Plain strings in `secrets` and `githubToken`
 * are passed as they are: the component must make them secret itself.
 */
export function runCiSetup(args: CiSetupArgs): Promise<MockedRun> {
  return runUnderMocks({}, async () => {
    const { CiSetup } = await import("../../../components/ciSetup");
    new CiSetup("ci", args);
  });
}
