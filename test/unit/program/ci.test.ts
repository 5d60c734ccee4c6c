import { CI_BLOCK as BLOCK, CI_SECRETS } from "../support/ciMocks";
import { loadConfigWith, ProgramRun, runProgram, stackConfig } from "../support/program";

const isCi = (type: string) =>
  type.startsWith("github:") || type.endsWith(":github") || type.includes(":ci:");

describe("the program under mocks, Pulumi.prod.yaml with the CI block on", () => {
  let run: ProgramRun;
  beforeAll(async () => {
    run = await runProgram(stackConfig("prod", { "hcloud-deploy:ci": BLOCK, ...CI_SECRETS }), {
      stack: "prod",
    });
  });

  test("one CiSetup with its provider, secrets, variable, environment, policy and protection", () => {
    expect(run.resources.filter((r) => isCi(r.type)).map((r) => [r.type, r.name])).toEqual([
      ["hcloud-deploy:ci:CiSetup", "ci"],
      ["pulumi:providers:github", "ci-github"],
      ["github:index/actionsSecret:ActionsSecret", "ci-secret-pulumi-access-token"],
      ["github:index/actionsSecret:ActionsSecret", "ci-secret-pulumi-config-passphrase"],
      ["github:index/actionsSecret:ActionsSecret", "ci-secret-registry-push-token"],
      ["github:index/actionsVariable:ActionsVariable", "ci-variable-deploy-runner"],
      ["github:index/repositoryEnvironment:RepositoryEnvironment", "ci-production"],
      [
        "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy",
        "ci-production-main",
      ],
      ["github:index/branchProtection:BranchProtection", "ci-main-protection"],
    ]);
  });

  test("every Actions secret and the provider token are secret", async () => {
    for (const r of run.ofType("github:index/actionsSecret:ActionsSecret")) {
      expect([r.name, await run.pulumi.isSecret(r.props.value)]).toEqual([r.name, true]);
    }
    expect(await run.pulumi.isSecret(run.named("ci-github").props.token)).toBe(true);
    expect(run.named("ci-secret-registry-push-token").inputs.value).toBe("push-token-value");
  });

  test("a bad block stops the program with one line naming the key", async () => {
    await expect(
      loadConfigWith(
        stackConfig("prod", { "hcloud-deploy:ci": { ...BLOCK, owner: "-x" }, ...CI_SECRETS }),
        "prod",
      ),
    ).rejects.toThrow('hcloud-deploy:ci.owner: "-x" is not a GitHub user or organisation name');
  });
});

describe("the program under mocks with the CI block off", () => {
  test("registers no github resource", async () => {
    const run = await runProgram(stackConfig("prod", { "hcloud-deploy:ci": { ...BLOCK, enabled: false } }), {
      stack: "prod",
    });
    expect(run.resources.length).toBeGreaterThan(0);
    expect(run.resources.filter((r) => isCi(r.type))).toEqual([]);
  });
});
