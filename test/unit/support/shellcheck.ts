import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** A script to check: built text in a known dialect, or a file whose shebang (or directive) says it. */
export type CheckedScript =
  | { readonly name: string; readonly shell: "sh" | "bash"; readonly text: string }
  | { readonly name: string; readonly file: string };

export interface Finding {
  readonly script: string;
  readonly line: number;
  readonly column: number;
  readonly code: number;
  readonly level: string;
  readonly message: string;
  /** The script's line the finding is on, so a failure needs no second run to be understood. */
  readonly source: string;
}

interface Json1 {
  comments: { file: string; line: number; column: number; level: string; code: number; message: string }[];
}

/** One shellcheck run over files; every optional style note counts, as the issue asks for none. */
function run(args: string[], files: string[]): Json1["comments"] {
  if (files.length === 0) return [];
  const result = spawnSync("shellcheck", ["--norc", "--format=json1", ...args, ...files], {
    encoding: "utf8",
  });
  if (result.error) {
    throw new Error(`cannot run shellcheck (${result.error.message}); scripts/setup-machine.sh installs it`);
  }
  // 0: nothing found, 1: findings; anything else means it could not check a file.
  if (result.status !== 0 && result.status !== 1) {
    throw new Error(`shellcheck exited with ${result.status}: ${result.stderr}`);
  }
  return (JSON.parse(result.stdout) as Json1).comments;
}

/** Runs shellcheck over every script: built ones in their own dialect, files by their shebang. */
export function shellcheck(scripts: readonly CheckedScript[]): Finding[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "shellcheck-"));
  try {
    const byFile = new Map<string, { name: string; text: string }>();
    const dialects = { sh: [] as string[], bash: [] as string[] };
    const files: string[] = [];
    scripts.forEach((s, i) => {
      if ("file" in s) {
        byFile.set(s.file, { name: s.name, text: fs.readFileSync(s.file, "utf8") });
        files.push(s.file);
      } else {
        const file = path.join(dir, `${i}.${s.shell}`);
        fs.writeFileSync(file, s.text);
        byFile.set(file, { name: s.name, text: s.text });
        dialects[s.shell].push(file);
      }
    });
    const comments = [
      ...run(["--shell=sh"], dialects.sh),
      ...run(["--shell=bash"], dialects.bash),
      ...run([], files),
    ];
    return comments.map((c) => {
      const script = byFile.get(c.file) ?? { name: c.file, text: "" };
      const source = (script.text.split("\n")[c.line - 1] ?? "").trim().slice(0, 160);
      return { script: script.name, ...c, source };
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A finding as one line: where, the code and its message, and the line it is about. */
export function describeFinding(f: Finding): string {
  return `${f.script}:${f.line}:${f.column}: SC${f.code} (${f.level}) ${f.message} | ${f.source}`;
}

const QUOTED = "'(?:[^']|'\\\\'')*'";
const HOST_WORD = new RegExp(`'sh -c (?:[^']|'\\\\'')*'`, "g");
const INNER = new RegExp(`^sh -c (${QUOTED}) hcloud-deploy$`);

/** What a shQuote'd word stands for (only `'\''` can occur inside one). */
function unquote(word: string): string {
  return word.slice(1, -1).replace(/'\\''/g, "'");
}

/**
 * The host scripts a deployer script carries as quoted words (see onHost), as the host's sh gets them:
 * inside their quotes shellcheck sees only a string, so each is checked on its own.
 */
export function hostScriptsIn(deployerScript: string): string[] {
  return [...deployerScript.matchAll(HOST_WORD)].map((m) => {
    const inner = INNER.exec(unquote(m[0]));
    if (!inner) throw new Error(`a quoted "sh -c" word that is not onHost's: ${m[0].slice(0, 80)}`);
    return unquote(inner[1]);
  });
}
