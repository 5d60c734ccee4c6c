#!/usr/bin/env bash
# Runs a project command on a set-up machine: scripts/setup.sh first (quick when all is there), then
# the command on the project's Node.js. What `npm run local:up` and the other day-to-day commands go
# through, so they work from a fresh clone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PATH="$(bash scripts/setup.sh | tail -n 1):$PWD/node_modules/.bin:$PATH"
export PATH
exec "$@"
