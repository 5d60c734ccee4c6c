import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { bumpText, newestCommit, runBumpSources } from "../../../ops/bumpSources";

const A = "a".repeat(40);
const B = "b".repeat(40);
const stack = (api: string, worker: string) => `config:
  # The api lives in its own repository.
  hcloud-deploy:apps:
    - name: web
      hosts: [web-1]
      build: {context: apps/web}
    - name: api
      hosts: [web-1]
      build:
        git: https://github.com/o/api.git
        commit: ${api} # pinned
    - name: worker
      hosts: [web-1]
      build: {git: "https://github.com/o/api.git", commit: ${worker}, branch: stable}
`;

describe("bumpText", () => {
  test("each pin moves to its branch's newest commit; every other byte stays", () => {
    const C = "c".repeat(40);
    const heads: Record<string, string> = { main: B, stable: C };
    const { text, bumps } = bumpText(stack(A, C), (_url, branch) => heads[branch]);
    expect(bumps).toEqual([
      { app: "api", url: "https://github.com/o/api.git", branch: "main", from: A, to: B },
    ]);
    expect(text).toBe(stack(B, C));
  });

  test("one commit pinned by two apps whose branches move apart is refused, not guessed", () => {
    expect(() => bumpText(stack(A, A), (_u, b) => (b === "main" ? B : A))).toThrow(
      `${A} is pinned by apps whose branches now point to different commits: bump them by hand`,
    );
  });

  test("nothing moved: the same text, no bumps", () => {
    expect(bumpText(stack(A, B), (_u, b) => (b === "main" ? A : B))).toEqual({
      text: stack(A, B),
      bumps: [],
    });
  });
});

describe("against a repository on this machine (file://)", () => {
  let root: string;
  let repo: string;
  const sh = (cmd: string, cwd: string) => execFileSync("sh", ["-c", cmd], { cwd, encoding: "utf8" }).trim();
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "hcd-bump-"));
    repo = path.join(root, "api");
    fs.mkdirSync(repo);
    sh(
      "git init -q -b main && git config user.email t@t && git config user.name t && git commit -q --allow-empty -m one",
      repo,
    );
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  test("a new commit on the branch: --write moves the pin and says so; a second run has nothing to do", () => {
    const first = sh("git rev-parse HEAD", repo);
    const file = path.join(root, "Pulumi.dev.yaml");
    fs.writeFileSync(
      file,
      `config:\n  hcloud-deploy:apps:\n    - name: api\n      hosts: [web-1]\n      build: {git: "file://${repo}", commit: ${first}}\n`,
    );
    sh("git commit -q --allow-empty -m two", repo);
    const second = sh("git rev-parse HEAD", repo);
    expect(newestCommit(`file://${repo}`, "main", undefined)).toBe(second);
    expect(runBumpSources(["--stack", "dev"], root, undefined)).toBe(
      `bump: api ${first.slice(0, 12)} → ${second.slice(0, 12)} (file://${repo} main)`,
    );
    expect(fs.readFileSync(file, "utf8")).toContain(`commit: ${first}`);
    runBumpSources(["--stack", "dev", "--write"], root, undefined);
    expect(fs.readFileSync(file, "utf8")).toContain(`commit: ${second}}`);
    expect(runBumpSources(["--stack", "dev", "--write"], root, undefined)).toBe("");
  });

  test("a branch the repository lacks fails in one line naming it", () => {
    expect(() => newestCommit(`file://${repo}`, "release", undefined)).toThrow(
      `file://${repo}: cannot read the newest commit of release: no branch release`,
    );
  });

  test.each([[["--stack"]], [["--write"]], [["--stack", "dev", "--all"]]])("usage %j", (argv) => {
    expect(() => runBumpSources(argv, root, undefined)).toThrow(
      "usage: bump-sources.ts --stack <stack> [--write]",
    );
  });
});
