#!/usr/bin/env bash
# Everything the project tests, from a fresh machine: the README's test command and what .ci/run calls.
# Installs what the tests need (Debian packages, npm packages, the Pulumi toolchain), then runs lint,
# type checks, unit tests (actionlint included), integration tests on simulated IPv6-only hosts (Debian 13
# ones, then again on Debian 12 ones), and the fault suite and the end-to-end run of the real Pulumi
# engine. Needs root (network namespaces, daemons, apt).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

started=$SECONDS
step() { printf '\n==> %s (%ss)\n' "$*" "$((SECONDS - started))" >&2; }

step "set-up: machine packages, Node.js, npm packages"
PATH="$(bash scripts/setup.sh | tail -n 1):$PATH"
export PATH
step "running on Node.js $(node --version)"

step "lint"
npm run lint
step "type check"
npm run typecheck
step "unit tests"
npm run test:unit
step "integration tests (trixie hosts)"
npm run test:integration
# debian-12 keeps working: the same suite on bookworm hosts (its first run builds their root filesystem).
step "integration tests (bookworm hosts)"
HCD_HOST_RELEASE=bookworm npm run test:integration

step "Pulumi toolchain"
if toolchain=$(bash scripts/pulumi-toolchain.sh | tail -n 1); then
  export PATH="$toolchain:$PATH"
else
  toolchain=""
  echo "the Pulumi CLI and plugins could not be provided (see the output above)" >&2
fi
# The fault cases that need the engine say so and are skipped without one.
step "fault suite"
npm run test:faults
if [[ -n $toolchain ]]; then
  step "end-to-end tests"
  npm run test:e2e
else
  echo "end-to-end tests SKIPPED: the Pulumi CLI and plugins could not be provided (see the output above)" >&2
fi
step "all tests passed"
