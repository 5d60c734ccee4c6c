#!/usr/bin/env bash
# Provides the Pulumi CLI, its Node.js language host and the resource plugins
# this program uses, at exactly the versions of the installed @pulumi/* npm
# packages, and prints the bin directory holding them as the last line of
# stdout:
#
#   PATH="$(bash scripts/pulumi-toolchain.sh | tail -n1):$PATH"
#   bash scripts/pulumi-toolchain.sh --check   # also prove every binary runs
#
# Where Pulumi's download site answers, the official release binaries are
# installed. Our machines reach only package registries, so otherwise the
# binaries are built from source fetched through the Go module proxy; that
# takes a long while once, and the result is cached per set of versions under
# ${HCLOUD_DEPLOY_CACHE:-~/.cache/hcloud-deploy}/toolchain/, so later runs
# return at once. Progress goes to stderr.
set -euo pipefail

PROJECT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly PROJECT_ROOT
readonly TOOLCHAIN_ROOT="${HCLOUD_DEPLOY_CACHE:-$HOME/.cache/hcloud-deploy}/toolchain"
# Bump when the way binaries are produced changes, so old caches are not reused.
readonly RECIPE=2

# The CLI must never try to reach the network behind our back: a missing
# plugin has to fail loudly instead of being fetched from a site we cannot
# reach.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true

STEP="start"
REPORTED=""
WORK=""

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Prints the one-line reason for a failure and stops.
die() {
  printf 'pulumi-toolchain: %s\n' "$*" >&2
  REPORTED=1
  exit 1
}

# Removes build directories, which may hold read-only copies from Go's module
# cache that rm alone cannot delete.
remove_tree() {
  chmod -R u+w "$@" 2>/dev/null || true
  rm -rf "$@"
}

on_exit() {
  local rc=$?
  if [[ -n $WORK ]]; then
    remove_tree "$WORK"
  fi
  if ((rc != 0)) && [[ -z $REPORTED ]]; then
    printf 'pulumi-toolchain: failed during "%s" (exit %d); its output is above\n' "$STEP" "$rc" >&2
  fi
}
trap on_exit EXIT
# Without these, bash would run the EXIT trap with status 0 after a signal.
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a command as a named, timed step, so a long build shows what it is
# doing and a failure names the step it happened in.
step() {
  STEP=$1
  shift
  log "$STEP ..."
  local started=$SECONDS rc=0
  # Explicit, because set -e is off when the caller tests the step's status.
  "$@" || rc=$?
  if ((rc != 0)); then
    log "$STEP: failed after $((SECONDS - started))s"
    return "$rc"
  fi
  log "$STEP: done in $((SECONDS - started))s"
}

# Versions come from the installed npm packages (what `pulumi up` will load),
# falling back to the pins in package.json before `npm ci` has run.
read_versions() {
  local versions
  # shellcheck disable=SC2016 # the ${...} are JavaScript's, not the shell's
  versions=$(node -e '
    const fs = require("fs");
    const path = require("path");
    const root = process.argv[1];
    const deps = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).dependencies ?? {};
    const out = [];
    for (const name of ["pulumi", "command", "hcloud", "docker", "github"]) {
      let version;
      try {
        version = JSON.parse(fs.readFileSync(path.join(root, "node_modules/@pulumi", name, "package.json"), "utf8")).version;
      } catch {
        version = deps["@pulumi/" + name];
      }
      if (!/^\d+\.\d+\.\d+$/.test(version ?? "")) {
        console.error(`@pulumi/${name} must be pinned to an exact version, found ${version}`);
        process.exit(1);
      }
      out.push(version);
    }
    console.log(out.join(" "));
  ' "$PROJECT_ROOT") || die "cannot read the @pulumi/* versions from $PROJECT_ROOT"
  read -r PULUMI_V COMMAND_V HCLOUD_V DOCKER_V GITHUB_V <<<"$versions"
}

# ---------------------------------------------------------------------------
# Official release binaries

official_site_reachable() {
  command -v curl >/dev/null && curl -fs --max-time 5 -o /dev/null https://get.pulumi.com
}

install_official() {
  local bin=$1
  step "download the Pulumi installer" curl -fsSL -o "$WORK/install.sh" https://get.pulumi.com
  step "install pulumi $PULUMI_V" \
    sh "$WORK/install.sh" --version "$PULUMI_V" --install-root "$WORK/pulumi" --no-edit-path >&2
  cp "$WORK/pulumi/bin/"* "$bin/"

  # Plugins land in PULUMI_HOME; a private one keeps the user's untouched and
  # tells us where to copy the binary from.
  local name version
  while read -r name version; do
    if PULUMI_HOME="$WORK/home" step "install plugin $name $version" \
      "$bin/pulumi" plugin install resource "$name" "$version" >&2; then
      cp "$WORK/home/plugins/resource-$name-v$version/pulumi-resource-$name" "$bin/"
    elif [[ $name == docker || $name == github ]]; then
      log "optional plugin $name $version could not be installed; continuing without it"
    else
      die "cannot install the $name $version plugin"
    fi
  done <<EOF
command $COMMAND_V
hcloud $HCLOUD_V
docker $DOCKER_V
github $GITHUB_V
EOF
}

# Building from source through the Go module proxy: pulumi-from-source.sh.
# shellcheck source=scripts/pulumi-from-source.sh
source "$PROJECT_ROOT/scripts/pulumi-from-source.sh"

# ---------------------------------------------------------------------------
# Verification

# Proves each binary starts and reports the expected version: the CLI itself,
# the language host, and each resource plugin loaded through the CLI the way
# `pulumi up` loads it.
check_toolchain() {
  local bin=$1 got plugin name want
  STEP="check"
  got=$("$bin/pulumi" version) || die "check: $bin/pulumi does not run"
  [[ $got == "v$PULUMI_V" ]] || die "check: pulumi reports $got, expected v$PULUMI_V"
  # Language hosts older than 3.100 have no -version flag, only -help.
  if got=$("$bin/pulumi-language-nodejs" -version 2>/dev/null); then
    [[ $got == "v$PULUMI_V" ]] || die "check: pulumi-language-nodejs reports $got, expected v$PULUMI_V"
  else
    "$bin/pulumi-language-nodejs" -help >/dev/null 2>&1 || die "check: pulumi-language-nodejs does not run"
  fi
  for plugin in "$bin"/pulumi-resource-*; do
    name=${plugin##*/pulumi-resource-}
    case $name in
    command) want=$COMMAND_V ;;
    hcloud) want=$HCLOUD_V ;;
    docker) want=$DOCKER_V ;;
    github) want=$GITHUB_V ;;
    *) continue ;;
    esac
    got=$("$bin/pulumi" package get-schema "$plugin" |
      node -e '
        let s = "";
        process.stdin.on("data", (d) => (s += d)).on("end", () => {
          try { console.log(JSON.parse(s).version); } catch { process.exit(1); }
        });') ||
      die "check: pulumi cannot load the $name plugin ($plugin)"
    [[ $got == "$want" ]] || die "check: the $name plugin reports version $got, expected $want"
    log "check: $name plugin $got loads"
  done
  for name in command hcloud; do
    [[ -x $bin/pulumi-resource-$name ]] || die "check: pulumi-resource-$name is missing from $bin"
  done
  log "check: pulumi v$PULUMI_V and its plugins work"
}

# ---------------------------------------------------------------------------

main() {
  local check=""
  case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  *) die "usage: $0 [--check]" ;;
  esac

  read_versions
  local key dest
  key="pulumi-${PULUMI_V}_command-${COMMAND_V}_hcloud-${HCLOUD_V}_docker-${DOCKER_V}_github-${GITHUB_V}_$(uname -s)-$(uname -m)_r$RECIPE"
  dest="$TOOLCHAIN_ROOT/$key"

  if [[ ! -f $dest/.complete ]]; then
    mkdir -p "$TOOLCHAIN_ROOT"
    # A second run started meanwhile waits for this build instead of
    # duplicating it.
    exec 9>"$TOOLCHAIN_ROOT/.$key.lock"
    if command -v flock >/dev/null; then flock 9; fi
  fi
  if [[ ! -f $dest/.complete ]]; then
    # With the lock held, any build directory for this key is a leftover of
    # a killed run.
    remove_tree "$TOOLCHAIN_ROOT/.build-$key".*
    log "building the Pulumi toolchain into $dest"
    local started=$SECONDS
    # Built next to its destination so the final rename is atomic: an
    # interrupted build leaves only a temporary directory, removed on exit.
    WORK=$(mktemp -d "$TOOLCHAIN_ROOT/.build-$key.XXXXXX")
    mkdir -p "$WORK/out/bin"
    if official_site_reachable; then
      install_official "$WORK/out/bin"
    else
      log "get.pulumi.com is unreachable; building from source via the Go module proxy"
      build_from_go_proxy "$WORK/out/bin"
    fi
    check_toolchain "$WORK/out/bin"
    date -u +%FT%TZ >"$WORK/out/.complete"
    rm -rf "$dest"
    mv "$WORK/out" "$dest"
    log "toolchain ready in $((SECONDS - started))s"
  elif [[ -n $check ]]; then
    check_toolchain "$dest/bin"
  fi
  printf '%s\n' "$dest/bin"
}

main "$@"
