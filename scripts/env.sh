# Sourced by the project's scripts: puts the cached Node.js and Pulumi tools first on PATH
# (when present) and points Pulumi at a local file backend with no account and no network.
_hostnet_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/versions.sh
source "$_hostnet_root/scripts/versions.sh"
[ -x "$HOSTNET_CACHE/node-$NODE_VERSION/bin/node" ] && PATH="$HOSTNET_CACHE/node-$NODE_VERSION/bin:$PATH"
[ -x "$HOSTNET_CACHE/pulumi-$PULUMI_VERSION/bin/pulumi" ] && PATH="$HOSTNET_CACHE/pulumi-$PULUMI_VERSION/bin:$PATH"
export PATH
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_CONFIG_PASSPHRASE=${PULUMI_CONFIG_PASSPHRASE:-hostnet-local}
export PULUMI_HOME=${PULUMI_HOME:-$HOSTNET_CACHE/pulumi-home}
export LC_ALL=C
