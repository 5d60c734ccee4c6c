#!/usr/bin/env bash
# Lints the GitHub Actions workflows in .github/workflows with actionlint and
# exits with its status (0 clean, 1 problems found, 2 bad arguments, 3 fatal).
# Extra arguments go to actionlint, e.g. `bash scripts/actionlint.sh -color`.
#
# actionlint is a Go module, built once with `go install` through the Go
# module proxy (the only place our machines fetch it from) into
# ${HCLOUD_DEPLOY_CACHE:-~/.cache/hcloud-deploy}/actionlint/<version>/; later
# runs start at once. When shellcheck is on PATH, actionlint also checks every
# `run:` script with it. Progress goes to stderr.
set -euo pipefail

# Bump deliberately: a new actionlint may find new problems.
readonly VERSION=v1.7.12
PROJECT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly PROJECT_ROOT
readonly CACHE_ROOT="${HCLOUD_DEPLOY_CACHE:-$HOME/.cache/hcloud-deploy}/actionlint"
readonly BIN="$CACHE_ROOT/$VERSION/actionlint"

WORK=""
cleanup() {
  if [[ -n $WORK ]]; then
    # Go's module cache copies are read-only; rm needs write permission.
    chmod -R u+w "$WORK" 2>/dev/null || true
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

# Exit status 3, actionlint's own "fatal", so a missing tool never reads as lint findings.
die() {
  printf 'actionlint.sh: %s\n' "$*" >&2
  exit 3
}

install() {
  # Go's own tarball installs to /usr/local/go, which a non-login shell (CI) may not have on PATH.
  if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
    PATH="/usr/local/go/bin:$PATH"
  fi
  command -v go >/dev/null ||
    die "Go is not installed; actionlint $VERSION is built from its Go module and needs Go 1.21 or later (Go fetches the newer toolchain actionlint asks for through the module proxy)"
  mkdir -p "$CACHE_ROOT"
  # Built next to its destination so the final rename is atomic: an
  # interrupted build leaves only a temporary directory, removed on exit.
  WORK=$(mktemp -d "$CACHE_ROOT/.build-$VERSION.XXXXXX")
  printf 'actionlint.sh: building actionlint %s into %s\n' "$VERSION" "$CACHE_ROOT/$VERSION" >&2
  # Independent of the caller's Go settings (a go.work above us, GOFLAGS such as -mod=vendor), and the
  # module cache stays inside the build directory so nothing is left behind in the caller's GOPATH.
  if ! env GOBIN="$WORK/bin" GOMODCACHE="$WORK/mod" GOFLAGS="-trimpath -buildvcs=false -modcacherw" \
    GOWORK=off CGO_ENABLED=0 go install "github.com/rhysd/actionlint/cmd/actionlint@$VERSION" >&2; then
    die "go install github.com/rhysd/actionlint/cmd/actionlint@$VERSION failed; its output is above"
  fi
  mkdir -p "$CACHE_ROOT/$VERSION"
  mv "$WORK/bin/actionlint" "$BIN"
}

[[ -x $BIN ]] || install
cd "$PROJECT_ROOT"
if ! command -v shellcheck >/dev/null; then
  printf 'actionlint.sh: shellcheck is not on PATH; run: scripts are not checked\n' >&2
fi
"$BIN" "$@" .github/workflows/*.yml
