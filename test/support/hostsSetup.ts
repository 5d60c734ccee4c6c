// jest globalSetup of the suites that start simulated hosts (integration, faults, e2e): their root file
// systems built first (local/suiteHosts.ts). The integration suite's own hosts boot TEST_HOST_RELEASE;
// the fault and end-to-end suites also boot servers of either image through the emulator.
import { HOST_RELEASES } from "../../local/hostRootfs";
import { prepareSuiteHosts } from "../../local/suiteHosts";
import { TEST_HOST_RELEASE } from "./hostRelease";

export default async function setup(_global: unknown, project: { displayName?: { name: string } }) {
  const suite = project.displayName?.name;
  await prepareSuiteHosts(suite === "integration" ? [TEST_HOST_RELEASE] : HOST_RELEASES);
}
