/**
 * Moves the pins of apps built from another repository (build.git) to the newest commit of their branch:
 *
 *   npx ts-node scripts/bump-sources.ts --stack dev [--write]
 *
 * prints one `bump: <app> <old> → <new> (<url> <branch>)` line per pin that moves (nothing when none does)
 * and, with --write, rewrites the commit in Pulumi.<stack>.yaml in place, leaving every other byte as it
 * was. The bump-sources workflow runs it per stack and opens a pull request with the change, whose preview
 * shows what the new commits change; merging it deploys them. The token for private repositories is read
 * from SOURCE_TOKEN and given to git in its environment.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { COMMIT, GitSource, gitEnv, parseGitBuild } from "../config/gitSource";
import { ConfigNode } from "../config/reader";
import { configKey } from "../config/schema";

export class BumpError extends Error {}

export interface PinnedSource extends GitSource {
  readonly app: string;
}

export interface Bump {
  readonly app: string;
  readonly url: string;
  readonly branch: string;
  readonly from: string;
  readonly to: string;
}

/** The build.git apps of a stack file's text. */
export function pinnedSources(text: string): PinnedSource[] {
  const doc = parse(text) as { config?: Record<string, unknown> } | null;
  const apps = new ConfigNode(configKey("apps"), (doc?.config?.[configKey("apps")] ?? []) as never);
  return apps.optionalItems().flatMap((n) => {
    const build = n.field("build");
    if (!build.present || build.object().git === undefined) return [];
    return [{ app: n.field("name").string(), ...parseGitBuild(build) }];
  });
}

/** The newest commit of `branch` in the repository at `url`, by `git ls-remote`. */
export function newestCommit(url: string, branch: string, token: string | undefined): string {
  const result = spawnSync("git", ["ls-remote", url, `refs/heads/${branch}`], {
    env: gitEnv(token),
    encoding: "utf8",
  });
  const sha = result.stdout.split(/\s/)[0] ?? "";
  if (result.status !== 0 || !COMMIT.test(sha)) {
    const why = result.stderr.trim().split("\n").pop() || `no branch ${branch}`;
    throw new BumpError(
      `${url}: cannot read the newest commit of ${branch}: ${token ? why.split(token).join("***") : why}`,
    );
  }
  return sha;
}

/**
 * The stack file's text with every pin moved to `lookup(url, branch)`, and the moves. Each old commit is
 * replaced where it stands as a whole 40-hex word; a commit pinned by two sources that move apart is
 * refused rather than guessed.
 */
export function bumpText(
  text: string,
  lookup: (url: string, branch: string) => string,
): { text: string; bumps: Bump[] } {
  const sources = pinnedSources(text);
  const bumps = sources
    .map((s) => ({ app: s.app, url: s.url, branch: s.branch, from: s.commit, to: lookup(s.url, s.branch) }))
    .filter((b) => b.to !== b.from);
  let out = text;
  for (const from of new Set(bumps.map((b) => b.from))) {
    const targets = new Set(
      sources.filter((s) => s.commit === from).map((s) => bumps.find((b) => b.app === s.app)?.to ?? from),
    );
    if (targets.size > 1) {
      throw new BumpError(
        `${from} is pinned by apps whose branches now point to different commits: bump them by hand`,
      );
    }
    out = out.replace(new RegExp(`\\b${from}\\b`, "g"), [...targets][0]);
  }
  return { text: out, bumps };
}

export function bumpLine(b: Bump): string {
  return `bump: ${b.app} ${b.from.slice(0, 12)} → ${b.to.slice(0, 12)} (${b.url} ${b.branch})`;
}

const USAGE = "usage: bump-sources.ts --stack <stack> [--write]";

/** The command line: what it prints. */
export function runBumpSources(argv: readonly string[], root: string, token: string | undefined): string {
  const args = [...argv];
  let stack: string | undefined;
  let write = false;
  while (args.length > 0) {
    const flag = args.shift();
    if (flag === "--write") write = true;
    else if (flag === "--stack" && args[0] !== undefined && /^[A-Za-z0-9_.-]+$/.test(args[0]))
      stack = args.shift();
    else throw new BumpError(USAGE);
  }
  if (stack === undefined) throw new BumpError(USAGE);
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new BumpError(`Pulumi.${stack}.yaml: no such stack file in ${root}`);
  const before = fs.readFileSync(file, "utf8");
  const { text, bumps } = bumpText(before, (url, branch) => newestCommit(url, branch, token));
  if (write && text !== before) fs.writeFileSync(file, text);
  return bumps.map(bumpLine).join("\n");
}
