#!/usr/bin/env bash
# Everything a fresh machine needs before the project's commands run: the Debian packages
# (setup-machine.sh), the Node.js of .nvmrc (node-runtime.sh) and the npm packages of the lock file.
# Quick when all is there. Prints, as the last line of stdout, the directory to put first on PATH.
#
#   PATH="$(bash scripts/setup.sh | tail -n1):$PATH"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup-machine.sh >&2
node_bin=$(bash scripts/node-runtime.sh)
export PATH="$node_bin:$PATH"

# npm ci starts from scratch; skip it when node_modules was installed from this very lock file by this
# very Node.js (native modules and npm's own checks depend on it).
stamp="$(sha256sum package-lock.json | cut -d' ' -f1) $(node --version)"
if [[ $(cat node_modules/.installed-from 2>/dev/null) != "$stamp" ]]; then
  echo "setup: npm ci (Node.js $(node --version))" >&2
  npm ci --no-audit --no-fund >&2
  echo "$stamp" >node_modules/.installed-from
fi
echo "$node_bin"
