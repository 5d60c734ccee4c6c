#!/usr/bin/env bash
# The fault suite (test/faults): what breaks on hosts and deployers, and what the product does about it.
# Runs the jest project `faults` and prints, as its very last line, `faults: N passed, N failed`; exits
# non-zero on any failure, a suite that could not run included. Needs root and the machine lock
# (`npm run test:faults` takes it). Arguments go to jest (e.g. a test file).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
results=$(mktemp)
trap 'rm -f "$results"' EXIT
node_modules/.bin/jest --selectProjects faults --runInBand --json --outputFile="$results" "$@"
status=$?
# shellcheck disable=SC2016 # JavaScript for node, not shell
node -e '
  const fs = require("fs");
  let r = {};
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch {}
  const passed = r.numPassedTests ?? 0;
  // A suite that failed to run (its beforeAll threw, it did not compile) counts as one failure.
  let failed = (r.numFailedTests ?? 0) + (r.numRuntimeErrorTestSuites ?? 0);
  if (failed === 0 && Number(process.argv[2]) !== 0) failed = 1;
  console.log(`faults: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
' "$results" "$status"
