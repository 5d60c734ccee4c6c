import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkoutSource, checkoutSources, gitEnv, GitSource, parseGitBuild } from "../../../config/gitSource";
import { ConfigNode } from "../../../config/reader";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const build = (value: object) => new ConfigNode("hcloud-deploy:apps[1].build", value as never);

describe("parseGitBuild", () => {
  test("url, commit, and the defaults of branch, context and dockerfile", () => {
    expect(parseGitBuild(build({ git: "https://github.com/o/api.git", commit: COMMIT }))).toEqual({
      kind: "git",
      url: "https://github.com/o/api.git",
      commit: COMMIT,
      branch: "main",
      context: ".",
      dockerfile: "Dockerfile",
    });
  });

  test.each<[string, object, string]>([
    [
      "a branch name as commit",
      { commit: "main" },
      'build.commit: "main" is not a commit: give its 40 lowercase hex digits',
    ],
    ["a short commit", { commit: COMMIT.slice(0, 12) }, "is not a commit"],
    ["no commit", { commit: undefined }, "build.commit: is required with git: the 40-hex commit to deploy"],
    [
      "credentials in the URL",
      { git: "https://bot:secret@github.com/o/api.git" },
      "build.git: must not hold credentials",
    ],
    [
      "an ssh URL",
      { git: "git@github.com:o/api.git" },
      'build.git: "git@github.com:o/api.git" is not an https:// or file:/// URL',
    ],
    [
      "a context leaving the repository",
      { context: "../other" },
      'build.context: "../other" is not a relative path inside the repository',
    ],
    ["an unknown key", { ref: "main" }, 'unknown field "ref"'],
  ])("%s is refused", (_, change, problem) => {
    const value = { git: "https://github.com/o/api.git", commit: COMMIT, ...change };
    expect(() => parseGitBuild(build(value))).toThrow(problem);
  });
});

test("the token reaches git as a header in its environment, and nowhere when unset", () => {
  const env = gitEnv("tok3n");
  expect([env.GIT_CONFIG_COUNT, env.GIT_CONFIG_KEY_0, env.GIT_TERMINAL_PROMPT]).toEqual([
    "1",
    "http.extraHeader",
    "0",
  ]);
  expect(env.GIT_CONFIG_VALUE_0).toBe(
    `Authorization: Basic ${Buffer.from("x-access-token:tok3n").toString("base64")}`,
  );
  expect(gitEnv(undefined).GIT_CONFIG_COUNT).toBeUndefined();
});

describe("checkoutSource, against a repository on this machine (file://)", () => {
  let root: string;
  let repo: string;
  let commits: string[];
  const sh = (cmd: string, cwd: string) => execFileSync("sh", ["-c", cmd], { cwd, encoding: "utf8" }).trim();
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "hcd-git-"));
    repo = path.join(root, "repo");
    fs.mkdirSync(path.join(repo, "svc"), { recursive: true });
    sh("git init -q -b main && git config user.email t@t && git config user.name t", repo);
    commits = ["v1", "v2"].map((v) => {
      fs.writeFileSync(path.join(repo, "svc", "Dockerfile"), `FROM scratch\nLABEL version=${v}\n`);
      sh(`git add -A && git commit -qm ${v}`, repo);
      return sh("git rev-parse HEAD", repo);
    });
    process.env.HCLOUD_DEPLOY_CACHE = path.join(root, "cache");
  });
  afterAll(() => {
    delete process.env.HCLOUD_DEPLOY_CACHE;
    fs.rmSync(root, { recursive: true, force: true });
  });
  const source = (commit: string): GitSource => ({
    kind: "git",
    url: `file://${repo}`,
    commit,
    branch: "main",
    context: "svc",
    dockerfile: "Dockerfile",
  });

  test("the older commit, exactly, though the branch has moved on; the second time from the cache", () => {
    const project = path.join(root, "project");
    const said: string[] = [];
    const checkout = checkoutSource(source(commits[0]), "k", undefined, project, (l) => said.push(l));
    expect(checkout).toEqual({
      context: path.join(".sources", commits[0], "svc"),
      dockerfile: "Dockerfile",
      revision: commits[0].slice(0, 12),
    });
    expect(fs.readFileSync(path.join(project, checkout.context, "Dockerfile"), "utf8")).toContain(
      "version=v1",
    );
    expect(said).toEqual([`fetching file://${repo} at ${commits[0]}`]);
    said.length = 0;
    checkoutSource(source(commits[0]), "k", undefined, project, (l) => said.push(l));
    expect(said).toEqual([]);
  });

  test("a commit the repository does not have fails on the app's key, before anything is built", () => {
    expect(() =>
      checkoutSource(source(COMMIT), "hcloud-deploy:apps[1].build.commit", undefined, path.join(root, "p2")),
    ).toThrow(
      new RegExp(
        `^hcloud-deploy:apps\\[1\\]\\.build\\.commit: ${COMMIT} could not be fetched from file://${repo}: .*not our ref`,
      ),
    );
  });

  test("checkoutSources: only git apps, each saying which commit it is built from", () => {
    const said: string[] = [];
    const apps = [
      { name: "web", source: { kind: "build" } },
      { name: "api", source: source(commits[1]) },
    ];
    const result = checkoutSources(apps, undefined, path.join(root, "p3"), (l) => said.push(l));
    expect(Object.keys(result)).toEqual(["api"]);
    expect(result.api.source).toEqual({
      kind: "build",
      context: path.join(".sources", commits[1], "svc"),
      dockerfile: "Dockerfile",
    });
    expect(said).toEqual([
      `source: api: fetching file://${repo} at ${commits[1]}`,
      `source: api built from ${commits[1]} of file://${repo}`,
    ]);
  });
});
