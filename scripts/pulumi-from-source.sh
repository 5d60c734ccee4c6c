# shellcheck shell=bash
# Sourced by pulumi-toolchain.sh, which provides log, die, step, $WORK and the *_V versions: builds the
# Pulumi CLI, its Node.js language host and the command and hcloud plugins from source fetched through
# the Go module proxy. Every module is fetched before anything is built, so a refused one fails in
# seconds, naming itself.

# The newest language host the proxy serves as part of the sdk module (later ones are modules of their
# own); it speaks the protocol of the newer CLIs.
readonly FALLBACK_LANGUAGE_HOST_SDK=3.68.0

# Downloads a module version (any version query, including a commit hash) and sets MOD_DIR to its
# read-only copy in the module cache and MOD_COMMIT to the git commit the proxy says it was cut from.
# Returns non-zero (with MOD_ERROR set) when the proxy refuses it.
try_fetch_module() {
  local json
  MOD_ERROR=""
  if ! json=$(go mod download -json "$1"); then
    MOD_ERROR=$(json_string Error <<<"$json")
    return 1
  fi
  MOD_DIR=$(json_string Dir <<<"$json")
  MOD_COMMIT=$(json_string Hash <<<"$json")
}

fetch_module() {
  try_fetch_module "$1" || die "cannot download Go module $1: $MOD_ERROR"
}

# Extracts a string field from `go mod download -json` output, with escaped newlines flattened so an
# error fits on one line.
json_string() {
  sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}\$/\1/p" | sed 's/\\[nt]/ /g'
}

# Copies a module out of the read-only module cache so it can be built in place (its replace
# directives and go:generate steps need a writable tree).
copy_module() {
  mkdir -p "$(dirname "$2")"
  cp -R "$1" "$2"
  chmod -R u+w "$2"
}

# Provider repositories keep their Go module in provider/ and tag only the repository root, so the
# module is fetched by the commit of the root tag.
fetch_provider_module() {
  local repo=$1 version=$2
  fetch_module "github.com/pulumi/$repo@v$version"
  [[ -n $MOD_COMMIT ]] || die "the Go module proxy did not say which commit $repo v$version was cut from"
  fetch_module "github.com/pulumi/$repo/provider@$MOD_COMMIT"
}

# Lays out $WORK/src: pkg/ and sdk/ side by side as in Pulumi's repository (pkg/v3 replaces sdk/v3
# with ../sdk, so `go install …@version` refuses it), the language host, and both providers.
fetch_sources() {
  local src=$WORK/src
  fetch_module "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_V"
  copy_module "$MOD_DIR" "$src/pulumi/pkg"
  local release_commit=$MOD_COMMIT
  [[ -n $release_commit ]] || die "the Go module proxy did not say which commit pkg/v3@v$PULUMI_V was cut from"
  fetch_module "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_V"
  copy_module "$MOD_DIR" "$src/pulumi/sdk"
  # The language host has no tags of its own; Pulumi tags pkg/vX on the release commit, where its
  # go.mod names sdk vX. Where the proxy refuses that, the sdk module's own older language host does.
  if try_fetch_module "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3@$release_commit"; then
    copy_module "$MOD_DIR" "$src/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs"
    LANGUAGE_HOST_DIR=$src/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs
    LANGUAGE_HOST_PACKAGE=.
  else
    log "the language host of $PULUMI_V is refused ($MOD_ERROR); using the one in sdk/v3@v$FALLBACK_LANGUAGE_HOST_SDK"
    fetch_module "github.com/pulumi/pulumi/sdk/v3@v$FALLBACK_LANGUAGE_HOST_SDK"
    copy_module "$MOD_DIR" "$src/sdk-language-host"
    LANGUAGE_HOST_DIR=$src/sdk-language-host
    LANGUAGE_HOST_PACKAGE=./nodejs/cmd/pulumi-language-nodejs
  fi
  fetch_provider_module pulumi-command "$COMMAND_V"
  copy_module "$MOD_DIR" "$src/command"
  fetch_provider_module pulumi-hcloud "$HCLOUD_V"
  copy_module "$MOD_DIR" "$src/hcloud"
}

build_from_go_proxy() {
  local bin=$1 src=$WORK/src
  command -v go >/dev/null || die "Pulumi's download site is unreachable and Go is not installed to build the toolchain"
  # Two cores are shared with other work: two packages at a time keeps the machine usable. The build
  # must not depend on the caller's Go settings (a go.work above the cache, or GOFLAGS such as
  # -mod=vendor), and static binaries need no C toolchain.
  export GOFLAGS="-p=2 -trimpath -buildvcs=false" GOWORK=off CGO_ENABLED=0
  cd "$WORK" || die "cannot enter $WORK"
  fetch_sources

  # Same flags and tags as Pulumi's own release builds (.goreleaser.yml).
  local ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_V"
  step "build pulumi $PULUMI_V" \
    go -C "$src/pulumi/pkg" build -tags osusergo,grpcnotrace -ldflags "$ldflags" -o "$bin/pulumi" ./cmd/pulumi
  step "build pulumi-language-nodejs" \
    go -C "$LANGUAGE_HOST_DIR" build -tags osusergo,grpcnotrace -ldflags "$ldflags" \
    -o "$bin/pulumi-language-nodejs" "$LANGUAGE_HOST_PACKAGE"
  # Shipped in the official bundle too: the plugin behind pulumi.dynamic resources, a shell wrapper
  # around @pulumi/pulumi.
  install -m 0755 "$src/pulumi/sdk/nodejs/dist/pulumi-resource-pulumi-nodejs" "$bin/"

  step "build pulumi-resource-command $COMMAND_V" \
    go -C "$src/command" build \
    -ldflags "-s -w -X github.com/pulumi/pulumi-command/provider/pkg/version.Version=$COMMAND_V" \
    -o "$bin/pulumi-resource-command" ./cmd/pulumi-resource-command
  # As the repository's Makefile does (schema_embed, then provider): the release's schema.json is
  # committed, so tfgen need not regenerate it; the go:generate step stamps the version into it.
  step "generate hcloud schema" \
    env VERSION="$HCLOUD_V" go -C "$src/hcloud" generate cmd/pulumi-resource-hcloud/main.go
  step "build pulumi-resource-hcloud $HCLOUD_V" \
    go -C "$src/hcloud" build \
    -ldflags "-s -w -X github.com/pulumi/pulumi-hcloud/provider/pkg/version.Version=$HCLOUD_V" \
    -o "$bin/pulumi-resource-hcloud" ./cmd/pulumi-resource-hcloud
  # The docker and github providers cannot be built this way: their provider/go.mod replaces the
  # upstream Terraform provider with ../upstream, a git submodule that no Go module contains.
  log "skipping the optional docker $DOCKER_V and github $GITHUB_V plugins: not buildable from Go modules"
}
