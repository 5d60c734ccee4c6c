import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { SCRIPT_VARIABLE, scriptCommandLine } from "./shell/deployerCommand";

/**
 * What every deployer-side command runs: the script itself sits in the command's environment, so that
 * pulumi-command's error ("running \"<create>\"") quotes this line instead of the script.
 */
export const DEPLOYER_COMMAND = 'exec bash -c "$HCLOUD_DEPLOY_SCRIPT" hcloud-deploy';

/** The inputs of a deployer-side command running `script` with `stdin` (secret). */
export function deployerCommandArgs(
  script: pulumi.Input<string>,
  stdin: pulumi.Input<string>,
  triggers: pulumi.Input<unknown>[],
): command.local.CommandArgs {
  return {
    create: DEPLOYER_COMMAND,
    environment: { HCLOUD_DEPLOY_SCRIPT: script },
    // The previous run's output must not land in the environment (or the stack's diff).
    addPreviousOutputInEnv: false,
    stdin: pulumi.secret(stdin),
    triggers,
  };
}

/**
 * The inputs of a deployer-side command whose script (overSshScript) runs in the mode Pulumi asks for:
 * create, update (an input other than a trigger changed) or delete.
 */
export function modalCommandArgs(
  script: pulumi.Input<string>,
  stdin: pulumi.Input<string>,
  triggers: pulumi.Input<unknown>[],
): command.local.CommandArgs {
  return {
    create: scriptCommandLine("create"),
    update: scriptCommandLine("update"),
    delete: scriptCommandLine("delete"),
    interpreter: ["/bin/sh", "-c"],
    environment: { [SCRIPT_VARIABLE]: script },
    addPreviousOutputInEnv: false,
    stdin: pulumi.secret(stdin),
    triggers,
  };
}
