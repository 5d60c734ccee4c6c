// Existing stacks must never see a resource renamed or re-parented by a refactoring: Pulumi would
// replace it. The fixture lists every URN (type chain and name) the program registered when it was
// written; a change that adds resources adds lines to it, and nothing else may move without an alias.
import * as fs from "fs";
import * as path from "path";
import { CI_BLOCK, CI_SECRETS } from "../support/ciMocks";
import { Recorded, runProgram, stackConfig } from "../support/program";

const FIXTURE = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures/urns.json"), "utf8")) as Record<
  string,
  string[]
>;

/** The URN without its `urn:pulumi:<stack>::<project>::` prefix: `parent$…$type::name`. */
function urnsOf(resources: Recorded[]): string[] {
  const byName = new Map(resources.map((r) => [r.name, r]));
  const chain = (r: Recorded): string => {
    const parent = r.parentName === undefined ? undefined : byName.get(r.parentName);
    return parent ? `${chain(parent)}$${r.type}` : r.type;
  };
  return resources.map((r) => `${chain(r)}::${r.name}`).sort();
}

test.each([
  ["dev", "dev", {}],
  ["prod", "prod", {}],
  ["prod-ci", "prod", { "hcloud-deploy:ci": CI_BLOCK, ...CI_SECRETS }],
  ["local", "local", {}],
])("%s registers exactly the recorded URNs", async (fixture, stack, extra) => {
  const run = await runProgram(stackConfig(stack, extra), { stack });
  expect(urnsOf(run.resources)).toEqual(FIXTURE[fixture]);
});
