/**
 * Apps built from another Git repository, pinned to one commit: `build: {git, commit, branch, context,
 * dockerfile}`. The deployer fetches exactly that commit (shallow) into a bare repository cached per URL
 * and unpacks it under the project's `.sources/`, a path that is the same on every machine (it is an
 * input of the image build). A token for private HTTPS repositories travels in git's environment
 * (GIT_CONFIG_*), never in argv, a URL or a log.
 */
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError, ConfigNode } from "./reader";

export interface GitSource {
  readonly kind: "git";
  /** `https://…` or `file://…`, without credentials. */
  readonly url: string;
  /** The 40-hex commit deployed. */
  readonly commit: string;
  /** The branch the commit is taken from, to follow when the pin is bumped (never deployed as such). */
  readonly branch: string;
  /** Build context inside the repository, relative. */
  readonly context: string;
  /** Dockerfile, relative to the context. */
  readonly dockerfile: string;
}

export const COMMIT = /^[0-9a-f]{40}$/;
const URL_FORM = /^(https:\/\/[^\s@/]+\/\S+|file:\/\/\/\S+)$/;
const RELATIVE = /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[^\s'"\\`$]+$/;

/** Where checkouts are unpacked, relative to the project (git-ignored). */
export const SOURCES_DIR = ".sources";

/** The `build` node of an app with a `git` key. */
export function parseGitBuild(n: ConfigNode): GitSource {
  const urlNode = n.field("git");
  if (/^https:\/\/[^/]*@/.test(urlNode.string())) {
    urlNode.fail("must not hold credentials: set the token in hcloud-deploy:sourceToken (secret)");
  }
  const url = urlNode.matching(URL_FORM, "an https:// or file:/// URL of a Git repository");
  const commitNode = n.field("commit");
  if (!commitNode.present) {
    commitNode.fail("is required with git: the 40-hex commit to deploy (a deployment is always pinned)");
  }
  const commit = commitNode.string();
  if (!COMMIT.test(commit)) {
    commitNode.fail(
      `"${commit}" is not a commit: give its 40 lowercase hex digits (branch and tag names move; a deployment is always pinned)`,
    );
  }
  const source: GitSource = {
    kind: "git",
    url,
    commit,
    branch: n.field("branch").matching(/^[A-Za-z0-9._/-]+$/, "a branch name", "main"),
    context: n.field("context").matching(RELATIVE, "a relative path inside the repository", "."),
    dockerfile: n.field("dockerfile").matching(RELATIVE, "a relative path inside the context", "Dockerfile"),
  };
  n.done();
  return source;
}

/** Git's environment: no prompts, no user config, and the token as an HTTP header when there is one. */
export function gitEnv(token: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
  };
  if (token) {
    const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
    Object.assign(env, {
      GIT_CONFIG_COUNT: "1",
      GIT_CONFIG_KEY_0: "http.extraHeader",
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    });
  }
  return env;
}

function git(args: string[], env: NodeJS.ProcessEnv, cwd?: string) {
  return spawnSync("git", args, { env, cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}

/** Git's last line of complaint, with the token taken out should it appear. */
function lastLine(stderr: string, token: string | undefined): string {
  const line = stderr.trim().split("\n").filter(Boolean).pop() ?? "no output";
  return token ? line.split(token).join("***") : line;
}

/** The repository's bare cache on this machine, one per URL. */
function cacheOf(url: string): string {
  const root = process.env.HCLOUD_DEPLOY_CACHE ?? path.join(os.homedir(), ".cache", "hcloud-deploy");
  return path.join(root, "sources", crypto.createHash("sha256").update(url).digest("hex").slice(0, 16));
}

export interface Checkout {
  /** Build context, relative to the project directory. */
  readonly context: string;
  readonly dockerfile: string;
  /** Image tag: the commit's first 12 digits (the stack is appended by AppImage's caller). */
  readonly revision: string;
}

/**
 * Makes `<projectDir>/.sources/<commit>/` hold the commit's tree (fetched once, then reused), or throws a
 * ConfigError on `key` (the app's `build.commit`) naming what git said.
 */
export function checkoutSource(
  source: GitSource,
  key: string,
  token: string | undefined,
  projectDir: string,
  say: (line: string) => void = () => undefined,
): Checkout {
  const tree = path.join(SOURCES_DIR, source.commit);
  const treeDir = path.join(projectDir, tree);
  const checkout = {
    context: path.join(tree, source.context),
    dockerfile: source.dockerfile,
    revision: source.commit.slice(0, 12),
  };
  if (fs.existsSync(path.join(treeDir, ".hcloud-deploy-complete"))) return checkout;
  const env = gitEnv(token);
  const bare = cacheOf(source.url);
  if (!fs.existsSync(path.join(bare, "HEAD"))) {
    fs.mkdirSync(bare, { recursive: true });
    const init = git(["init", "--quiet", "--bare", bare], env);
    if (init.status !== 0)
      throw new ConfigError(key, `cannot make a Git cache in ${bare}: ${lastLine(init.stderr, token)}`);
  }
  const have = git(["cat-file", "-e", `${source.commit}^{commit}`], env, bare).status === 0;
  if (!have) {
    say(`fetching ${source.url} at ${source.commit}`);
    const fetched = git(
      ["fetch", "--quiet", "--depth", "1", "--no-tags", source.url, source.commit],
      env,
      bare,
    );
    if (fetched.status !== 0) {
      throw new ConfigError(
        key,
        `${source.commit} could not be fetched from ${source.url}: ${lastLine(fetched.stderr, token)} (a commit the repository does not have, or no access: hcloud-deploy:sourceToken)`,
      );
    }
  }
  const partial = `${treeDir}.partial`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { recursive: true });
  const archive = spawnSync("sh", ["-c", `git archive "$1" | tar -x -C "$2"`, "sh", source.commit, partial], {
    env,
    cwd: bare,
    encoding: "utf8",
  });
  if (archive.status !== 0)
    throw new ConfigError(key, `cannot unpack ${source.commit}: ${lastLine(archive.stderr, token)}`);
  if (!fs.existsSync(path.join(partial, source.context, source.dockerfile))) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw new ConfigError(
      key,
      `${source.commit} of ${source.url} has no ${path.join(source.context, source.dockerfile)}`,
    );
  }
  fs.writeFileSync(path.join(partial, ".hcloud-deploy-complete"), `${source.url} ${source.commit}\n`);
  fs.rmSync(treeDir, { recursive: true, force: true });
  fs.renameSync(partial, treeDir);
  return checkout;
}

/**
 * Every git-built app's checkout as the build source AppImage takes, and its tag's revision; apps built
 * here or prebuilt are not in the result. Says what it fetches (`source: <app> built from <commit>`).
 */
export function checkoutSources(
  apps: readonly { readonly name: string; readonly source: { readonly kind: string } }[],
  token: string | undefined,
  projectDir: string,
  say: (line: string) => void,
): Record<string, { source: { kind: "build"; context: string; dockerfile: string }; revision: string }> {
  return Object.fromEntries(
    apps.flatMap((app, i) => {
      if (app.source.kind !== "git") return [];
      const source = app.source as GitSource;
      const key = `hcloud-deploy:apps[${i}].build.commit`;
      const checkout = checkoutSource(source, key, token, projectDir, (line) =>
        say(`source: ${app.name}: ${line}`),
      );
      say(`source: ${app.name} built from ${source.commit} of ${source.url}`);
      return [
        [
          app.name,
          {
            source: { kind: "build" as const, context: checkout.context, dockerfile: checkout.dockerfile },
            revision: checkout.revision,
          },
        ],
      ];
    }),
  );
}
