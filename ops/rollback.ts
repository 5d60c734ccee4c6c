/**
 * Rolls a stack back to the images an earlier version deployed, without rebuilding or checking out git.
 *
 *   npm run rollback -- --stack <stack> --list          numbered history and the digests each version pinned
 *   npm run rollback -- --stack <stack> --to <version>  pin that version's digests and deploy them
 *
 * Versions are numbered as Pulumi Cloud numbers them (oldest 1); `--list` shows the numbers a file backend
 * does not. The pins go into Pulumi.<stack>.yaml through `pulumi config set`, so the rollback survives the
 * next deploy once that file is committed, and reverting it rolls forward. `--yes` is accepted and implied:
 * CI runs this without stdin.
 */
import * as fs from "fs";
import { LOCAL_STACK } from "../local/commands";
import {
  RollbackError,
  appImagesFromExport,
  appsInStackFile,
  formatHistory,
  imagesFromConfig,
  missingFromConfig,
  parseHistory,
  pickVersion,
  planRollback,
  resolveImages,
} from "./rollbackPlan";
import { StackCli, stackCli } from "./stackCli";

/** More versions than any self-managed stack has: `--list` and its numbering cover the whole history. */
const HISTORY_LIMIT = 1_000_000;
const USAGE = "usage: rollback.ts --stack <stack> (--to <version> | --list) [--yes]";
const STACK = /^[A-Za-z0-9_.-]+$/;

interface Args {
  readonly stack: string;
  readonly to: number | undefined;
}

export function parseArgs(argv: readonly string[]): Args {
  const args = [...argv];
  let stack: string | undefined;
  let to: number | undefined;
  let list = false;
  while (args.length > 0) {
    const flag = args.shift();
    if (flag === "--yes") continue;
    if (flag === "--list") {
      list = true;
      continue;
    }
    const value = args.shift();
    if (flag === "--stack" && value !== undefined && STACK.test(value)) stack = value;
    else if (flag === "--to" && value !== undefined && /^[1-9][0-9]*$/.test(value)) to = Number(value);
    else if (flag === "--to")
      throw new RollbackError(`--to must be a positive integer, not ${value ?? "nothing"}`);
    else throw new RollbackError(USAGE);
  }
  if (stack === undefined || list === (to !== undefined)) throw new RollbackError(USAGE);
  return { stack, to };
}

async function exportedImages(
  cli: StackCli,
  version: number,
): Promise<[Record<string, string> | undefined, string]> {
  const out = await cli.capture(["stack", "export", "--stack", cli.stack, "--version", String(version)]);
  if (out.code !== 0) {
    const reason = out.stderr
      .trim()
      .split("\n")[0]
      .replace(/^error: /, "");
    return [undefined, `pulumi stack export --version ${version} failed (${reason})`];
  }
  return [appImagesFromExport(out.stdout, version), ""];
}

/** Runs the rollback command (argv as after the script name); throws RollbackError with a one-line reason. */
export async function rollback(argv: readonly string[]): Promise<void> {
  const { stack, to } = parseArgs(argv);
  const cli = stackCli(stack);
  // Self-managed backends number versions by position here, so they must list the whole history: the
  // CLI's default page holds the newest 10 only and would renumber them as the stack grows. Pulumi Cloud
  // numbers versions itself and pages its API.
  const page = cli.selfManaged ? ["--page-size", String(HISTORY_LIMIT)] : [];
  const history = await cli.capture(["stack", "history", "--json", "--stack", stack, ...page], true);
  if (history.code !== 0) throw new RollbackError(`pulumi stack history failed for stack ${stack}`);
  const versions = parseHistory(history.stdout);
  if (to === undefined) {
    process.stdout.write(`${formatHistory(versions)}\n`);
    return;
  }

  const version = pickVersion(stack, versions, to);
  const fromConfig = imagesFromConfig(version);
  const missing = missingFromConfig(fromConfig);
  // The export is only worth asking for when the config leaves something open; file backends refuse it.
  const [fromExport, exportProblem] =
    missing === undefined || missing.length > 0 ? await exportedImages(cli, to) : [undefined, ""];
  if (fromConfig.apps === undefined && fromExport === undefined) {
    process.stdout.write(
      `version ${to} does not show its app list (secret or absent); using its imagePins\n`,
    );
  }
  const refs = resolveImages(version, fromConfig, fromExport, exportProblem);
  const stackFile = `Pulumi.${stack}.yaml`;
  const plan = planRollback(stack, to, refs, appsInStackFile(fs.readFileSync(stackFile, "utf8")));

  for (const [app, ref] of plan.pins) process.stdout.write(`pinning ${app} to ${ref}\n`);
  for (const app of plan.untouched)
    process.stdout.write(`leaving ${app} alone: version ${to} did not have it\n`);
  for (const app of plan.undefinedNow) {
    process.stdout.write(`skipping ${app}: version ${to} had it but ${stackFile} no longer defines it\n`);
  }
  for (const command of plan.commands) await cli.stream(command);
  process.stdout.write(
    stack === LOCAL_STACK
      ? `\nRolled stack ${stack} back to the images of version ${to}. npm run local:up keeps these pins; ` +
          `npm run local:up -- --roll-forward deploys the sources again.\n`
      : `\nRolled stack ${stack} back to the images of version ${to}. Commit ${stackFile} to keep the ` +
          `rollback.\nTo undo, remove the pins (pulumi config rm --stack ${stack} ` +
          `--path 'hcloud-deploy:imagePins.<app>', or revert ${stackFile}) and deploy.\n`,
  );
}
