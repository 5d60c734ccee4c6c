// The README is the front page and docs/ holds the detail: the README stays short, links every page of
// docs/, and every relative link in either (file and, for a Markdown target, heading anchor) resolves.
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "./support/program";

const README = path.join(ROOT, "README.md");
const DOCS = path.join(ROOT, "docs");
const pages = fs
  .readdirSync(DOCS)
  .filter((f) => f.endsWith(".md"))
  .sort();
const markdown = [README, ...pages.map((f) => path.join(DOCS, f))];

/** The file's lines outside fenced code blocks, with inline code spans removed. */
function prose(file: string): string[] {
  let fenced = false;
  const lines: string[] = [];
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    else if (!fenced) lines.push(line.replace(/`[^`]*`/g, ""));
  }
  return lines;
}

/** Link targets of `[text](target)` and `![alt](target)` in the file's prose. */
function links(file: string): string[] {
  return prose(file).flatMap((line) =>
    [...line.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]),
  );
}

/** GitHub's anchors for the file's headings: lower case, punctuation dropped, spaces to hyphens. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const heading = !fenced && /^#{1,6} (.*)$/.exec(line);
    if (!heading) continue;
    const slug = heading[1]
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, "")
      .replace(/ /g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

describe("the documentation", () => {
  test("the README is at most 250 lines", () => {
    expect(fs.readFileSync(README, "utf8").trimEnd().split("\n").length).toBeLessThanOrEqual(250);
  });

  test("the README links every page of docs/", () => {
    const linked = new Set(
      links(README)
        .map((target) => target.split("#")[0])
        .filter((target) => target.startsWith("docs/"))
        .map((target) => path.basename(target)),
    );
    expect(pages.length).toBeGreaterThan(0);
    expect(pages.filter((page) => !linked.has(page))).toEqual([]);
  });

  test.each(markdown.map((file) => [path.relative(ROOT, file), file]))(
    "every relative link in %s resolves",
    (_name, file) => {
      const broken = links(file)
        .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target))
        .filter((target) => {
          const [rel, anchor] = target.split("#");
          const resolved = rel ? path.resolve(path.dirname(file), rel) : file;
          if (!fs.existsSync(resolved)) return true;
          return anchor !== undefined && resolved.endsWith(".md") && !anchors(resolved).has(anchor);
        });
      expect(broken).toEqual([]);
    },
  );
});
