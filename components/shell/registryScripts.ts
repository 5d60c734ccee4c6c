import { readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { shQuote } from "./prelude";

/** The deployer-side registry modules, in the order they need each other; all import only Node's own. */
const MODULES = ["client", "blobCache", "deployerFetch"] as const;

let transpiled: { name: string; js: string }[] | undefined;

/**
 * The registry client, blob cache and fetch command (components/registry/) as CommonJS, the very code the
 * unit suite tests: the deployer runs them with the `node` it runs this program with, so a delivery
 * needs no Docker engine and nothing installed besides.
 */
export function registryModules(): readonly { name: string; js: string }[] {
  transpiled ??= MODULES.map((name) => {
    const source = readFileSync(path.join(__dirname, "..", "registry", `${name}.ts`), "utf8");
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
        removeComments: true,
      },
    });
    return { name, js: outputText };
  });
  return transpiled;
}

/** Bash lines that write the modules into `$work/registry/`; `node "$work/registry/deployerFetch.js"` runs the command. */
export function writeRegistryModules(): string {
  const lines = registryModules().map(
    ({ name, js }) =>
      `# shellcheck disable=SC2016 # JavaScript, not shell\nprintf '%s' ${shQuote(js)} > "$work/registry/${name}.js"`,
  );
  return `mkdir "$work/registry"\n${lines.join("\n")}\n`;
}
