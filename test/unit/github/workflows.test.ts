import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "yaml";
import { REQUIRED_CHECKS } from "../../../components/ciSetup";
import { ACTIONS_SECRETS, ACTIONS_VARIABLES } from "../../../config/ci";
import { ROOT } from "../support/program";

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  name: string;
  strategy?: { "fail-fast"?: boolean; matrix: Record<string, unknown> };
  "runs-on": string;
  needs?: string | string[];
  if?: string;
  environment?: string;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  env?: Record<string, string>;
  outputs?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, any>;
  permissions: Record<string, string>;
  concurrency: { group: string; "cancel-in-progress": boolean };
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

const FILES = ["pull-request", "main", "rollback", "bump-sources"] as const;
const STACKS = ["dev", "prod"];
const DEPLOY_RUNNER = "${{ vars.DEPLOY_RUNNER || 'ubuntu-latest' }}";
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));

const text = (file: string) => fs.readFileSync(path.join(ROOT, `.github/workflows/${file}.yml`), "utf8");
const load = (file: string) => parse(text(file)) as Workflow;
const wf = Object.fromEntries(FILES.map((f) => [f, load(f)])) as Record<(typeof FILES)[number], Workflow>;
const allJobs = FILES.flatMap((f) => Object.entries(wf[f].jobs).map(([id, job]) => ({ file: f, id, job })));
const allSteps = allJobs.flatMap(({ file, id, job }) => job.steps.map((step) => ({ file, id, step })));
const stepNamed = (job: Job, name: string) => {
  const found = job.steps.find((s) => s.name === name);
  if (!found) throw new Error(`no step "${name}" in job "${job.name}"`);
  return found;
};
const usesStep = (job: Job, action: string) => job.steps.filter((s) => s.uses?.startsWith(`${action}@`));

/** Runs a `run:` script the way GitHub's bash shell does, with fake commands first on PATH. */
function runScript(script: string, env: Record<string, string>, fakes: Record<string, string> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-step-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  for (const [name, body] of Object.entries(fakes)) {
    fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\nset -euo pipefail\n${body}\n`, {
      mode: 0o755,
    });
  }
  const output = path.join(dir, "github-output");
  fs.writeFileSync(output, "");
  const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
    cwd: ROOT,
    encoding: "utf8",
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: process.env.HOME,
      // Same behaviour, without type-checking the script on every call.
      TS_NODE_TRANSPILE_ONLY: "true",
      FAKE_LOG: path.join(dir, "calls.log"),
      GITHUB_OUTPUT: output,
      RUNNER_TEMP: dir,
      GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567",
      GITHUB_SERVER_URL: "https://github.com",
      GITHUB_REPOSITORY: "example-org/hcloud-deploy",
      ...env,
    },
  });
  const read = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "");
  // This machine's npm configuration may warn on every call; that is not the script's output.
  const stderr = result.stderr
    .split("\n")
    .filter((line) => !line.startsWith("npm warn"))
    .join("\n");
  const calls = read(path.join(dir, "calls.log")).replaceAll(dir, "$RUNNER_TEMP").split("\n").filter(Boolean);
  const outputs = Object.fromEntries(
    read(output)
      .split("\n")
      .filter(Boolean)
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
  fs.rmSync(dir, { recursive: true, force: true });
  return { status: result.status, stdout: result.stdout, stderr, calls, outputs };
}

/** A fake `pulumi` logging its arguments, answering `stack output` with $FAKE_OUTPUTS. */
const FAKE_PULUMI = `
if [[ $1 == stack && $2 == output ]]; then printf '%s\\n' "$FAKE_OUTPUTS"; exit 0; fi
printf 'pulumi %s\\n' "$*" >>"$FAKE_LOG"`;

/** A fake `docker` that checks the token arrives on stdin and reports a digest derived from the tag. */
const FAKE_DOCKER = `
if [[ $1 == login ]]; then
  [[ $(cat) == "$REGISTRY_PUSH_TOKEN" ]] || { echo "token not on stdin" >&2; exit 1; }
  printf 'docker %s\\n' "$*" >>"$FAKE_LOG"; exit 0
fi
printf 'docker %s\\n' "$*" >>"$FAKE_LOG"
args=("$@")
for ((i = 0; i < \${#args[@]}; i++)); do
  case \${args[i]} in
    --tag) tag=\${args[i+1]} ;;
    --metadata-file) meta=\${args[i+1]} ;;
  esac
done
printf '{"containerimage.digest": "sha256:%s"}' "$(printf '%s' "$tag" | sha256sum | cut -c1-64)" >"$meta"`;

const digestOf = (tag: string) => `sha256:${crypto.createHash("sha256").update(tag).digest("hex")}`;

describe("triggers", () => {
  test("pull-request.yml runs on pull requests to main only", () => {
    expect(wf["pull-request"].on).toEqual({ pull_request: { branches: ["main"] } });
  });

  test("main.yml runs on pushes to main only", () => {
    expect(wf.main.on).toEqual({ push: { branches: ["main"] } });
  });

  test("rollback.yml is manual, with a stack choice and a required version", () => {
    expect(wf.rollback.on).toEqual({
      workflow_dispatch: {
        inputs: {
          stack: { description: expect.any(String), type: "choice", options: STACKS, required: true },
          version: { description: expect.stringContaining("digits only"), type: "string", required: true },
        },
      },
    });
  });

  test.each(FILES)(
    "%s: never pull_request_target or workflow_run (they run fork code with secrets)",
    (file) => {
      const code = text(file)
        .split("\n")
        .filter((line) => !/^\s*#/.test(line))
        .join("\n");
      expect(code).not.toMatch(/pull_request_target|workflow_run/);
    },
  );
});

describe("least privilege", () => {
  test.each(FILES)("%s: the workflow token can only read the contents", (file) => {
    expect(wf[file].permissions).toEqual({ contents: "read" });
  });

  test("only the preview jobs get more (PR comments), and the bump job (its branch and pull request)", () => {
    const widened = allJobs.filter((j) => j.job.permissions).map((j) => [j.file, j.id, j.job.permissions]);
    expect(widened).toEqual([
      ["pull-request", "preview-dev", { contents: "read", "pull-requests": "write" }],
      ["pull-request", "preview-prod", { contents: "read", "pull-requests": "write" }],
      ["bump-sources", "bump", { contents: "write", "pull-requests": "write" }],
    ]);
  });

  test("no workflow or job environment holds a secret: secrets reach single steps only", () => {
    for (const f of FILES)
      expect([f, JSON.stringify(wf[f].env ?? {}).includes("secrets.")]).toEqual([f, false]);
    for (const { file, id, job } of allJobs) {
      expect([file, id, JSON.stringify(job.env ?? {}).includes("secrets.")]).toEqual([file, id, false]);
    }
  });

  test("the test jobs see no secret at all", () => {
    for (const file of ["pull-request", "main"] as const) {
      expect(JSON.stringify(wf[file].jobs.test)).not.toContain("secrets.");
    }
  });

  test("checkout never leaves the token in .git/config", () => {
    const checkouts = allSteps.filter((s) => s.step.uses?.startsWith("actions/checkout@"));
    expect(checkouts).toHaveLength(allJobs.length - 1);
    for (const { step } of checkouts) expect(step.with?.["persist-credentials"]).toBe(false);
  });
});

describe("concurrency", () => {
  test("a new push to a PR cancels its running checks", () => {
    expect(wf["pull-request"].concurrency).toEqual({
      group: "pull-request-${{ github.event.pull_request.number }}",
      "cancel-in-progress": true,
    });
  });

  test("deploys and rollbacks are never cancelled midway", () => {
    expect(wf.main.concurrency).toEqual({ group: "main", "cancel-in-progress": false });
    expect(wf.rollback.concurrency).toEqual({
      group: "rollback-${{ inputs.stack }}",
      "cancel-in-progress": false,
    });
  });

  test("deploys and rollbacks of one stack share a group, whichever workflow runs them", () => {
    const groups = (file: "main" | "rollback") =>
      Object.values(wf[file].jobs)
        .filter((j) => j.concurrency)
        .map((j) => j.concurrency);
    expect(groups("main")).toEqual([
      { group: "pulumi-dev", "cancel-in-progress": false },
      { group: "pulumi-prod", "cancel-in-progress": false },
    ]);
    expect(groups("rollback")).toEqual([
      { group: "pulumi-${{ inputs.stack }}", "cancel-in-progress": false },
    ]);
    const rollbackGroups = wf.rollback.on.workflow_dispatch.inputs.stack.options.map((s: string) =>
      "pulumi-${{ inputs.stack }}".replace("${{ inputs.stack }}", s),
    );
    expect(rollbackGroups).toEqual(groups("main").map((g) => g?.group));
  });
});

describe("pull-request.yml", () => {
  const jobs = wf["pull-request"].jobs;

  test("its jobs are exactly the checks branch protection requires", () => {
    expect(Object.keys(jobs)).toEqual(["test", "preview-dev", "preview-prod"]);
    expect(Object.values(jobs).map((j) => j.name)).toEqual([...REQUIRED_CHECKS]);
  });

  test("the test job runs the project's test command: lint, typecheck, unit tests", () => {
    const runs = jobs.test.steps.filter((s) => s.run).map((s) => s.run);
    expect(runs).toEqual(["npm ci", "npm test"]);
    expect(PACKAGE.scripts.test).toBe("npm run lint && npm run typecheck && npm run test:unit");
    expect(usesStep(jobs.test, "actions/setup-go")).toHaveLength(1);
  });

  test.each(STACKS)("preview (%s): pulumi/actions previews the stack into one PR comment", (stack) => {
    const job = jobs[`preview-${stack}`];
    expect(job["runs-on"]).toBe("ubuntu-latest");
    const preview = stepNamed(job, "Preview");
    expect(preview.uses).toMatch(/^pulumi\/actions@/);
    expect(preview.with).toEqual({
      command: "preview",
      "stack-name": stack,
      "pulumi-version": PACKAGE.dependencies["@pulumi/pulumi"],
      "cloud-url": "${{ vars.PULUMI_BACKEND_URL }}",
      "comment-on-pr": true,
      "edit-pr-comment": true,
    });
    expect(stepNamed(job, "Pin each app to the image the stack runs now").env?.STACK).toBe(stack);
  });

  test.each(STACKS)("preview (%s): skipped for forks and Dependabot, which get no secrets", (stack) => {
    expect(jobs[`preview-${stack}`].if).toBe(
      "github.event.pull_request.head.repo.full_name == github.repository && github.actor != 'dependabot[bot]'",
    );
  });

  test("the two preview jobs differ only in their stack", () => {
    const normalised = (stack: string) =>
      JSON.stringify(jobs[`preview-${stack}`]).replace(new RegExp(`(?<![\\w/])${stack}\\b`, "g"), "STACK");
    expect(normalised("prod")).toBe(normalised("dev"));
  });

  test("previews pin every deployed app to the image it runs now, and leave new apps to build", () => {
    const step = stepNamed(jobs["preview-prod"], "Pin each app to the image the stack runs now");
    const running = (app: string) => `ghcr.io/example-org/${app}@sha256:${"c".repeat(64)}`;
    const result = runScript(
      step.run as string,
      {
        STACK: "prod",
        FAKE_OUTPUTS: JSON.stringify({
          appImages: { web: running("web"), api: running("api") },
          appUrls: {},
        }),
      },
      { pulumi: FAKE_PULUMI },
    );
    expect([result.status, result.stderr]).toEqual([0, ""]);
    expect(result.calls).toEqual([
      `pulumi config set --stack prod --path hcloud-deploy:imagePins.web ${running("web")}`,
      `pulumi config set --stack prod --path hcloud-deploy:imagePins.api ${running("api")}`,
    ]);
  });
});

describe("main.yml", () => {
  const jobs = wf.main.jobs;

  test("test, then one build, then dev, then prod", () => {
    expect(Object.keys(jobs)).toEqual(["test", "build", "deploy-dev", "deploy-prod"]);
    expect(jobs.build.needs).toBe("test");
    expect(jobs["deploy-dev"].needs).toBe("build");
    expect(jobs["deploy-prod"].needs).toEqual(["build", "deploy-dev"]);
  });

  test("the test job is the pull request's", () => {
    expect(jobs.test).toEqual(wf["pull-request"].jobs.test);
  });

  test("prod deploys only through the production environment; dev records its own", () => {
    expect(jobs["deploy-prod"].environment).toBe("production");
    expect(jobs["deploy-dev"].environment).toBe("dev");
    expect(jobs.build.environment).toBeUndefined();
  });

  test("deploys run on the IPv6 runner and check for IPv6 before anything else", () => {
    for (const stack of STACKS) {
      const job = jobs[`deploy-${stack}`];
      expect(job["runs-on"]).toBe(DEPLOY_RUNNER);
      expect(job.env).toEqual({ STACK: stack });
      expect(job.steps[0].name).toBe("Check IPv6 connectivity");
      expect(job.steps.at(-1)).toMatchObject({
        name: "pulumi up",
        run: 'pulumi up --yes --non-interactive --stack "$STACK"',
      });
    }
    expect(jobs.build["runs-on"]).toBe("ubuntu-latest");
  });

  test("the two deploy jobs differ only in their stack, environment and needs", () => {
    const normalised = (stack: string) => {
      const { environment: _e, needs: _n, ...job } = jobs[`deploy-${stack}`];
      return JSON.stringify(job).replace(new RegExp(`(?<![\\w/])${stack}\\b`, "g"), "STACK");
    };
    expect(normalised("prod")).toBe(normalised("dev"));
  });

  test("the pinned sources of build.git apps are fetched before the build, with the token in the environment", () => {
    const names = jobs.build.steps.map((s: { name?: string }) => s.name);
    expect(names.indexOf("Fetch the pinned sources")).toBeLessThan(names.indexOf("Build and push"));
    const step = stepNamed(jobs.build, "Fetch the pinned sources");
    expect(step.env).toEqual({ SOURCE_TOKEN: "${{ secrets.SOURCE_TOKEN }}" });
    expect(step.run).toBe("npx ts-node scripts/ci-apps.ts sources --stack dev --stack prod");
  });

  test("digests flow from the build job to `pulumi config set` in each deploy", () => {
    const list = runScript(stepNamed(jobs.build, "List the images the stacks build").run as string, {});
    expect([list.status, list.stderr]).toEqual([0, ""]);
    const matrix = JSON.parse(list.outputs.matrix);
    expect(matrix.include.map((e: { image: string }) => e.image)).toEqual([
      "ghcr.io/example-org/web",
      "ghcr.io/example-org/api",
      "ghcr.io/example-org/worker",
    ]);

    const build = runScript(
      stepNamed(jobs.build, "Build and push").run as string,
      { MATRIX: list.outputs.matrix, REGISTRY_PUSH_TOKEN: "push-secret" },
      { docker: FAKE_DOCKER },
    );
    expect([build.status, build.stderr]).toEqual([0, ""]);
    expect(build.stdout).not.toContain("push-secret");
    const sha = "0123456789abcdef0123456789abcdef01234567";
    const ref = (app: string) =>
      `ghcr.io/example-org/${app}@${digestOf(`ghcr.io/example-org/${app}:${sha}`)}`;
    expect(build.calls[0]).toBe("docker login ghcr.io --username example-bot --password-stdin");
    expect(build.calls.filter((c) => c.startsWith("docker login"))).toHaveLength(1);
    expect(build.calls.slice(1)).toEqual(
      [
        ["web", "apps/web", "apps/web/Dockerfile"],
        ["api", "apps/api", "apps/api/Dockerfile"],
        ["worker", "apps/api", "apps/api/Dockerfile.worker"],
      ].map(
        ([app, context, dockerfile]) =>
          `docker buildx build --platform linux/amd64 --provenance=false --push ` +
          `--tag ghcr.io/example-org/${app}:${sha} --file ${dockerfile} ` +
          `--label org.opencontainers.image.source=https://github.com/example-org/hcloud-deploy ` +
          `--metadata-file $RUNNER_TEMP/build.json ${context}`,
      ),
    );
    expect(JSON.parse(build.outputs.images)).toEqual({
      "ghcr.io/example-org/web": ref("web"),
      "ghcr.io/example-org/api": ref("api"),
      "ghcr.io/example-org/worker": ref("worker"),
    });
    expect(jobs.build.outputs).toEqual({ images: "${{ steps.build.outputs.images }}" });

    const expected: Record<string, string[]> = { dev: ["web", "api"], prod: ["web", "api", "worker"] };
    for (const stack of STACKS) {
      const pin = stepNamed(jobs[`deploy-${stack}`], "Pin the images built for this commit");
      expect(pin.env?.IMAGES).toBe("${{ needs.build.outputs.images }}");
      const result = runScript(
        pin.run as string,
        { STACK: stack, IMAGES: build.outputs.images },
        { pulumi: FAKE_PULUMI },
      );
      expect([stack, result.status, result.stderr]).toEqual([stack, 0, ""]);
      expect(result.calls).toEqual(
        expected[stack].map(
          (app) => `pulumi config set --stack ${stack} --path hcloud-deploy:imagePins.${app} ${ref(app)}`,
        ),
      );
    }
  }, 120_000);

  test("QEMU is installed for the build only when some image needs linux/arm64", () => {
    const step = stepNamed(jobs.build, "Set up QEMU for arm64 builds");
    expect(step.env).toEqual({ MATRIX: "${{ steps.apps.outputs.matrix }}" });
    const matrix = (platforms: string[]) =>
      JSON.stringify({ include: platforms.map((p, i) => ({ image: `ghcr.io/o/app${i}`, platforms: p })) });
    const sudo = `printf 'sudo %s\\n' "$*" >>"$FAKE_LOG"`;
    const x86 = runScript(step.run as string, { MATRIX: matrix(["linux/amd64"]) }, { sudo });
    expect([x86.status, x86.stdout.trim(), x86.calls]).toEqual([0, "no image needs linux/arm64", []]);
    const arm = runScript(
      step.run as string,
      { MATRIX: matrix(["linux/amd64", "linux/amd64,linux/arm64"]) },
      { sudo },
    );
    expect([arm.status, arm.calls]).toEqual([
      0,
      ["sudo apt-get update -qq", "sudo apt-get install -y -qq qemu-user-static"],
    ]);
  });

  test("a deploy stops when an image it needs was not built", () => {
    const pin = stepNamed(jobs["deploy-prod"], "Pin the images built for this commit");
    const result = runScript(pin.run as string, { STACK: "prod", IMAGES: "{}" }, { pulumi: FAKE_PULUMI });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'ci-apps: --built: no image was built for ghcr.io/example-org/web (app "web" of prod)',
    );
    expect(result.calls).toEqual([]);
  });
});

describe("rollback.yml", () => {
  const jobs = wf.rollback.jobs;
  const check = stepNamed(jobs.validate, "Check stack and version");

  test("inputs are validated in a job of their own, before the job with secrets", () => {
    expect(Object.keys(jobs)).toEqual(["validate", "rollback"]);
    expect(jobs.rollback.needs).toBe("validate");
    expect(jobs.validate.steps).toHaveLength(1);
    expect(check.env).toEqual({ STACK: "${{ inputs.stack }}", VERSION: "${{ inputs.version }}" });
  });

  test.each([
    ["dev", "42", 0],
    ["prod", "7", 0],
    ["prod", "0012", 0],
    ["prod", "", 1],
    ["dev", "12a", 1],
    ["dev", "-1", 1],
    ["dev", "4 2", 1],
    ["dev", "1;id", 1],
    ["dev", "$(id)", 1],
    ["dev", "1\n2", 1],
    ["staging", "3", 1],
    ["", "3", 1],
  ])("stack %j, version %j: exit %d", (stack, version, status) => {
    const result = runScript(check.run as string, { STACK: stack, VERSION: version });
    expect(result.status).toBe(status);
    // A rejected value is never echoed back: it could smuggle in a workflow command.
    if (version !== "") expect(result.stdout).not.toContain(version);
  });

  test("the rollback command gets the inputs through the environment", () => {
    const job = jobs.rollback;
    expect(job.env).toEqual({ STACK: "${{ inputs.stack }}", VERSION: "${{ inputs.version }}" });
    expect(job.steps.at(-1)?.run).toBe('npm run rollback -- --stack "$STACK" --to "$VERSION"');
    expect(job["runs-on"]).toBe(DEPLOY_RUNNER);
    expect(job.steps[0].name).toBe("Check IPv6 connectivity");
  });

  test("a prod rollback goes through the production environment", () => {
    expect(jobs.rollback.environment).toBe("${{ inputs.stack == 'prod' && 'production' || 'dev' }}");
  });
});

describe("bump-sources.yml", () => {
  const job = wf["bump-sources"].jobs.bump;
  const open = stepNamed(job, "Open the pull request").run as string;
  const FAKE_GIT = `printf 'git %s\\n' "$*" >>"$FAKE_LOG"; if [[ $1 == diff ]]; then exit "$FAKE_DIFF"; fi`;
  const FAKE_GH = `printf 'gh %s\\n' "$*" >>"$FAKE_LOG"; if [[ $1 == pr && $2 == view ]]; then [[ -z $FAKE_PR ]] || echo "$FAKE_PR"; fi`;
  const temp = () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bump-step-"));
    fs.writeFileSync(
      path.join(dir, "bumps.txt"),
      "bump: api 0123456789ab → fedcba987654 (https://github.com/o/api.git main)\n",
    );
    return dir;
  };

  test("daily and by hand, one job per stack, one run at a time", () => {
    expect(Object.keys(wf["bump-sources"].on).sort()).toEqual(["schedule", "workflow_dispatch"]);
    expect(job.strategy).toEqual({ "fail-fast": false, matrix: { stack: STACKS } });
    expect(wf["bump-sources"].concurrency).toEqual({ group: "bump-sources", "cancel-in-progress": false });
  });

  test("the pins move with the repository's own script, the token in its environment", () => {
    const step = stepNamed(job, "Move the pins");
    expect(step.env).toEqual({ STACK: "${{ matrix.stack }}", SOURCE_TOKEN: "${{ secrets.SOURCE_TOKEN }}" });
    // This repository's stacks build nothing from other repositories: nothing moves.
    const dir = temp();
    const moved = runScript(step.run as string, { STACK: "dev", RUNNER_TEMP: dir });
    expect([moved.status, moved.stdout, moved.stderr]).toEqual([0, "", ""]);
    expect(fs.readFileSync(path.join(dir, "bumps.txt"), "utf8")).toBe("");
  });

  test("moved pins: a branch per stack, pushed with gh's credential helper, one pull request listing the moves", () => {
    const dir = temp();
    const run = runScript(
      open,
      { STACK: "dev", FAKE_DIFF: "1", FAKE_PR: "", RUNNER_TEMP: dir },
      { git: FAKE_GIT, gh: FAKE_GH },
    );
    expect([run.status, run.stderr]).toEqual([0, ""]);
    expect(run.calls.map((c) => c.replaceAll(dir, "$RUNNER_TEMP"))).toEqual([
      "git diff --quiet",
      "git switch -C bump-sources/dev",
      "git -c user.name=github-actions[bot] -c user.email=41898282+github-actions[bot]@users.noreply.github.com commit -q -a -m Bump the pinned sources of dev",
      "gh auth setup-git",
      "git push --force origin bump-sources/dev",
      "gh pr view bump-sources/dev --json state --jq .state",
      "gh pr create --base main --head bump-sources/dev --title Bump the pinned sources of dev --body-file $RUNNER_TEMP/body.md",
    ]);
    expect(fs.readFileSync(path.join(dir, "body.md"), "utf8")).toBe(
      "The pinned sources of `dev` moved to their branches' newest commits:\n\n- bump: api 0123456789ab → fedcba987654 (https://github.com/o/api.git main)\n",
    );
  });

  test("an open pull request of the stack is updated, not opened again; nothing moved, nothing pushed", () => {
    const dir = temp();
    const again = runScript(
      open,
      { STACK: "prod", FAKE_DIFF: "1", FAKE_PR: "OPEN", RUNNER_TEMP: dir },
      { git: FAKE_GIT, gh: FAKE_GH },
    );
    expect(again.status).toBe(0);
    expect(again.calls.at(-1)?.replaceAll(dir, "$RUNNER_TEMP")).toBe(
      "gh pr edit bump-sources/prod --body-file $RUNNER_TEMP/body.md",
    );
    const none = runScript(
      open,
      { STACK: "prod", FAKE_DIFF: "0", FAKE_PR: "", RUNNER_TEMP: temp() },
      { git: FAKE_GIT, gh: FAKE_GH },
    );
    expect([none.status, none.stdout, none.calls]).toEqual([
      0,
      "no source of prod moved\n",
      ["git diff --quiet"],
    ]);
  });
});

describe("every workflow", () => {
  test("every action is pinned to a full commit SHA, with its version in a comment", () => {
    const lines = FILES.flatMap((f) =>
      text(f)
        .split("\n")
        .filter((l) => /^\s*(-\s+)?uses:/.test(l)),
    );
    expect(lines).toHaveLength(allSteps.filter((s) => s.step.uses).length);
    const shaOf = new Map<string, string>();
    for (const line of lines) {
      const m = /uses: ([\w.-]+\/[\w.-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)$/.exec(line);
      expect([line, m !== null]).toEqual([line, true]);
      const [, action, sha, version] = m as RegExpExecArray;
      // One action, one pinned version everywhere.
      expect(shaOf.get(action) ?? `${sha} ${version}`).toBe(`${sha} ${version}`);
      shaOf.set(action, `${sha} ${version}`);
    }
    expect([...shaOf.keys()].sort()).toEqual([
      "actions/cache",
      "actions/checkout",
      "actions/setup-go",
      "actions/setup-node",
      "pulumi/actions",
    ]);
  });

  test("no `run:` script contains an expression: untrusted values arrive through env", () => {
    for (const { file, id, step } of allSteps.filter((s) => s.step.run)) {
      expect([file, id, step.run?.includes("${{")]).toEqual([file, id, false]);
    }
  });

  test("no step prints a secret: secret variables only ever go to stdin of docker login", () => {
    for (const { file, id, step } of allSteps) {
      expect([file, id, step.run?.includes("set -x") ?? false]).toEqual([file, id, false]);
      const secretVars = Object.entries(step.env ?? {})
        .filter(([, v]) => v.includes("secrets."))
        .map(([k]) => k);
      for (const name of secretVars) {
        const uses = (step.run ?? "")
          .split("\n")
          .filter((line) => new RegExp(`\\$\\{?${name}\\b`).test(line));
        for (const line of uses) {
          expect([file, id, line.trim()]).toEqual([
            file,
            id,
            `printf '%s' "$${name}" | docker login "$registry" --username "$username" --password-stdin`,
          ]);
        }
      }
    }
  });

  test("the secrets and variables read are exactly those the CI component can create", () => {
    const read = (pattern: RegExp) =>
      [...new Set(FILES.flatMap((f) => [...text(f).matchAll(pattern)].map((m) => m[1])))].sort();
    expect(read(/secrets\.(\w+)/g)).toEqual(ACTIONS_SECRETS.map((s) => s.name).sort());
    expect(read(/vars\.(\w+)/g)).toEqual([...ACTIONS_VARIABLES].sort());
  });

  test("the project runs on Node 24 (the LTS): engines, .nvmrc and the set-up agree", () => {
    expect(PACKAGE.engines).toEqual({ node: ">=24" });
    expect(fs.readFileSync(path.join(ROOT, ".nvmrc"), "utf8")).toBe("24\n");
  });

  test("Node 24 with the npm cache, then npm ci, in every job that runs the project", () => {
    for (const { file, id, job } of allJobs.filter((j) => j.id !== "validate")) {
      const setup = usesStep(job, "actions/setup-node");
      expect([file, id, setup.map((s) => s.with)]).toEqual([
        file,
        id,
        [{ "node-version": 24, cache: "npm" }],
      ]);
      const firstRun = job.steps.slice(job.steps.indexOf(setup[0]) + 1).find((s) => s.run);
      expect([file, id, firstRun?.run]).toEqual([file, id, "npm ci"]);
    }
  });

  test("the Pulumi CLI is the version of the @pulumi/pulumi SDK", () => {
    const pulumiSteps = allSteps.filter((s) => s.step.uses?.startsWith("pulumi/actions@"));
    // An install step in each of the five jobs that run pulumi, and the two previews.
    expect(pulumiSteps).toHaveLength(7);
    for (const { step } of pulumiSteps) {
      expect(step.with?.["pulumi-version"]).toBe(PACKAGE.dependencies["@pulumi/pulumi"]);
    }
  });
});

describe("actionlint", () => {
  test("scripts/actionlint.sh finds nothing in .github/workflows", () => {
    const result = spawnSync("bash", [path.join(ROOT, "scripts/actionlint.sh")], {
      cwd: ROOT,
      encoding: "utf8",
    });
    if (result.status === 3) {
      throw new Error(`actionlint could not run (is Go installed?):\n${result.stderr}`);
    }
    expect({ status: result.status, findings: result.stdout }).toEqual({ status: 0, findings: "" });
  }, 600_000);
});
