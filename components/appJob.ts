import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { HostTarget } from "./hostTarget";
import { modalCommandArgs } from "./deployerCommand";
import { overSshScript } from "./shell/deployerCommand";
import { jobInstallScript, jobRemoveScript, JobSpec } from "./shell/jobs";

/** Defaults of the optional AppJobArgs fields. */
export const JOB_DEFAULTS = { timeoutSeconds: 3600 };

export interface AppJobArgs {
  /** The host the job runs on: one that runs the app (the program picks the app's first). */
  readonly target: HostTarget;
  readonly app: string;
  /** The job's name, unique within the app (no dot). */
  readonly job: string;
  /** systemd calendar expression, e.g. `*-*-* 03:00:00` (config/schedule.ts turns cron syntax into one). */
  readonly calendar: string;
  /** Program and arguments, run as written (the program replaces the image's entrypoint). */
  readonly command: readonly string[];
  /** How long a run may take before it is stopped, in seconds. Default: 3600. */
  readonly timeoutSeconds?: number;
}

/**
 * A scheduled job of an app: a systemd timer on the host starts a one-off container like the app as it
 * runs then (its image, env, volumes, network and limits), so it runs with the deployer gone and follows
 * every deploy without a change of its own. A run still going when the next is due makes that one skip.
 * Deleting the resource removes the timer; a running run finishes and the log stays. Give the app's
 * Service on the host as `dependsOn`, so the first run finds the app there.
 */
export class AppJob extends pulumi.ComponentResource {
  /** What the host said when it scheduled the job (`… scheduled <calendar>, next run <time>`). */
  public readonly scheduled: pulumi.Output<string>;

  constructor(name: string, args: AppJobArgs, opts?: pulumi.ComponentResourceOptions) {
    const timeoutSeconds = args.timeoutSeconds ?? JOB_DEFAULTS.timeoutSeconds;
    if (args.command.length === 0 || args.command[0] === "")
      throw new Error(`AppJob ${name}: the command is empty`);
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1)
      throw new Error(`AppJob ${name}: timeoutSeconds must be a whole number of at least 1`);
    if (/[\r\n]/.test(args.calendar)) throw new Error(`AppJob ${name}: the calendar must be one line`);
    super("hcloud-deploy:job:AppJob", name, {}, opts);
    const { target } = args;
    const spec: JobSpec = {
      app: args.app,
      hostName: target.hostName,
      job: args.job,
      calendar: args.calendar,
      command: args.command,
      timeoutSeconds,
    };
    const script = pulumi.all([target.address, target.hostKey]).apply(([address, hostKey]) =>
      overSshScript({
        subject: args.app,
        hostName: target.hostName,
        target: { address, port: 22, user: "root", hostKey },
        create: jobInstallScript(spec),
        delete: jobRemoveScript(spec),
      }),
    );
    // A changed schedule, command or timeout changes the script: an update rewrites the units in place.
    // A replaced server starts without the timer: its ID is the trigger.
    const stdin = target.connection.apply((c) => `${c.privateKey.trimEnd()}\n`);
    const run = new command.local.Command(
      `${name}-timer`,
      modalCommandArgs(script, stdin, [target.serverId]),
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.scheduled = run.stdout;
    this.registerOutputs({ scheduled: this.scheduled });
  }
}
