# Pinned tool versions, shared by setup.sh and env.sh.
# Node 24 (LTS): jest runs the ESM-only execa through require(esm) only from Node 24.9 on.
# PULUMI_VERSION must equal the @pulumi/pulumi version package-lock.json pins (package.json has a
# caret range, so a user's newer SDK is the only copy): it is the newest
# release served both as a Go module (to build the CLI) and on npm.
PULUMI_VERSION=3.260.0
LANGUAGE_HOST_VERSION=3.68.0
NODE_VERSION=24.21.0
NODE_MIN_MAJOR=24
HOSTNET_CACHE=${HOSTNET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pulumi-hostnet}
