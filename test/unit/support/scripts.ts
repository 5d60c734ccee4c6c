import { execFileSync } from "child_process";

/** What a single-quoted shell word stands for, as sh reads it. */
function unquote(word: string): string {
  return execFileSync("sh", ["-c", `printf %s ${word}`]).toString();
}

const QUOTED = "'(?:[^']|'\\\\'')*'";

/**
 * The host script a deployer script runs for `mode` (see overSshScript): the line
 * `<mode>) remote '<sh -c '<script>' hcloud-deploy>' …`, unquoted twice, as the remote shell would.
 */
export function hostScriptOf(deployerScript: string, mode: "create" | "update" | "delete"): string {
  const line = new RegExp(`^  ${mode}\\) remote (${QUOTED})`, "m").exec(deployerScript);
  if (!line) throw new Error(`no "${mode}) remote …" line in the deployer script`);
  const command = unquote(line[1]);
  const inner = new RegExp(`^sh -c (${QUOTED}) hcloud-deploy$`).exec(command);
  if (!inner) throw new Error(`the remote command is not "sh -c '…' hcloud-deploy": ${command.slice(0, 80)}`);
  return unquote(inner[1]);
}
