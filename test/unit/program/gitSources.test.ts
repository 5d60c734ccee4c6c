// Apps built from a commit of another repository, under mocks with a real repository on this machine
// (file://): the image is built from that commit's tree and tagged with it; a commit the repository lacks
// stops the program before any resource exists.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runProgram, stackConfig } from "../support/program";

let root: string;
let repo: string;
let commit: string;
const sh = (cmd: string, cwd: string) => execFileSync("sh", ["-c", cmd], { cwd, encoding: "utf8" }).trim();

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "hcd-git-program-"));
  repo = path.join(root, "api");
  fs.mkdirSync(path.join(repo, "service"), { recursive: true });
  fs.writeFileSync(path.join(repo, "service", "Dockerfile"), "FROM scratch\n");
  sh(
    "git init -q -b main && git config user.email t@t && git config user.name t && git add -A && git commit -qm one",
    repo,
  );
  commit = sh("git rev-parse HEAD", repo);
  process.env.HCLOUD_DEPLOY_CACHE = path.join(root, "cache");
});
afterAll(() => {
  delete process.env.HCLOUD_DEPLOY_CACHE;
  fs.rmSync(root, { recursive: true, force: true });
});

const apps = (c: string) => [
  { name: "web", hosts: ["web-1"], build: { context: "apps/web" }, port: 8080, hostPort: 80 },
  {
    name: "api",
    hosts: ["web-2"],
    build: { git: `file://${repo}`, commit: c, context: "service" },
    port: 8080,
  },
];

test("the image is built from the commit's tree under .sources/ and tagged with the commit", async () => {
  const run = await runProgram(stackConfig("dev", { "hcloud-deploy:apps": apps(commit) }));
  const image = run.named("api-image").inputs;
  expect(image.build.context).toBe(path.join(".sources", commit, "service"));
  expect(image.build.dockerfile).toBe(`${path.join(".sources", commit, "service")}/Dockerfile`);
  expect(image.imageName).toBe(`ghcr.io/example-org/api:${commit.slice(0, 12)}-dev`);
  // An app built here keeps its own tag.
  expect(run.named("web-image").inputs.imageName).not.toContain(commit.slice(0, 12));
});

test("a commit the repository does not have: one line on the app's key, no resource", async () => {
  const missing = "f".repeat(40);
  await expect(runProgram(stackConfig("dev", { "hcloud-deploy:apps": apps(missing) }))).rejects.toThrow(
    `hcloud-deploy:apps[1].build.commit: ${missing} could not be fetched from file://${repo}`,
  );
});
