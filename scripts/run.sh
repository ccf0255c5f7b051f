#!/usr/bin/env bash
# Runs a command from node_modules/.bin (or PATH) with the project's tools first on PATH.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$_hostnet_root"
bin=$1; shift
if [ -x "node_modules/.bin/$bin" ]; then exec "node_modules/.bin/$bin" "$@"; fi
exec "$bin" "$@"
