// jest globalTeardown of the suites that start simulated hosts: one `hosts:` line per release they booted.
import { finishSuiteHosts } from "../../local/suiteHosts";

export default async function teardown() {
  await finishSuiteHosts();
}
