#!/usr/bin/env bash
# The demo: `scripts/demo.sh up` builds the root Pulumi.yaml program inside a netns that plays
# the host, then proves it works; `scripts/demo.sh destroy` removes all of it. Local file
# state, fixed passphrase, no account.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$_hostnet_root"

HOST_NETNS=hostnet-demo
STACK=demo
state=${HOSTNET_DEMO_STATE:-$_hostnet_root/.demo}
export PULUMI_BACKEND_URL="file://$state"
mkdir -p "$state"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
check() { # description, command...
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then echo "  ok    $what"; else echo "  FAIL  $what"; failed=1; fi
}

ensure_stack() {
  pulumi stack select --create "$STACK" --non-interactive >/dev/null
  pulumi config set hostnet:host "$HOST_NETNS" --stack "$STACK" --non-interactive
}

case "${1:-up}" in
  up)
    if ! ip netns list | grep -qx "$HOST_NETNS\( (id: [0-9]*)\)\?"; then
      ip netns add "$HOST_NETNS"
      ip -n "$HOST_NETNS" link set lo up
    fi
    if [ ! -f dist/examples/demo/index.js ] || [ -n "$(find examples sdk provider -name '*.ts' -newer dist/examples/demo/index.js | head -1)" ]; then
      say "compiling the program (examples/demo/index.ts)"
      node node_modules/typescript/bin/tsc -p tsconfig.json
    fi
    ensure_stack
    say "pulumi up (stack $STACK, host netns $HOST_NETNS)"
    pulumi up --yes --skip-preview --stack "$STACK" --non-interactive
    say "what was built"
    pulumi stack output --stack "$STACK" --non-interactive
    echo "host ($HOST_NETNS):"; ip -n "$HOST_NETNS" -br addr
    for ns in demo-web demo-db demo-none demo-outside; do echo "$ns:"; ip -n "$ns" -br addr | sed 's/^/  /'; done
    say "does it work?"
    failed=0
    check "demo-web -> demo-db (10.0.3.3)" in_ns demo-web ping -c1 -W2 10.0.3.3
    check "demo-db -> gateway (10.0.3.1)" in_ns demo-db ping -c1 -W2 10.0.3.1
    check "demo-web -> outside (10.200.0.2), masqueraded" in_ns demo-web ping -c1 -W2 10.200.0.2
    check "demo-none has only lo" test "$(ip -n demo-none -o link | wc -l)" = 1
    # One HTTP request from outside through the port forward to a server in demo-web.
    # `ip netns exec` execs node, so $! is the server itself.
    ip netns exec demo-web node -e 'require("http").createServer((q, r) => r.end("hello from demo-web, you are " + q.socket.remoteAddress.replace(/^::ffff:/, "") + "\n")).listen(80)' >/dev/null 2>&1 &
    server=$!
    trap 'kill "$server" 2>/dev/null || true' EXIT
    for _ in $(seq 50); do in_ns demo-web ss -ltn | grep -q ':80 ' && break; sleep 0.1; done
    answer=$(in_ns demo-outside node -e 'require("http").get("http://10.200.0.1:8080/", (r) => r.pipe(process.stdout)).on("error", () => process.exit(1))' 2>/dev/null || true)
    check "outside -> 10.200.0.1:8080 -> demo-web:80 (HTTP)" test -n "$answer"
    [ -n "$answer" ] && echo "        answer: $answer"
    check "the sidecar (container mode) reaches the server on 127.0.0.1" in_ns demo-web node -e 'require("http").get("http://127.0.0.1/", () => process.exit(0)).on("error", () => process.exit(1))'
    kill "$server" 2>/dev/null || true
    echo
    echo "Try: pulumi preview --diff --stack $STACK (after editing examples/demo/index.ts), npm run destroy"
    echo "     (with: source scripts/env.sh; export PULUMI_BACKEND_URL=$PULUMI_BACKEND_URL)"
    exit "$failed"
    ;;
  destroy)
    ensure_stack
    pulumi destroy --yes --skip-preview --stack "$STACK" --non-interactive
    pulumi stack rm --yes --force "$STACK" --non-interactive >/dev/null
    ip netns delete "$HOST_NETNS" 2>/dev/null || true
    rm -rf "$state" Pulumi."$STACK".yaml
    echo "demo removed"
    ;;
  preview | refresh)
    ensure_stack
    pulumi "$1" --stack "$STACK" --non-interactive --diff
    ;;
  *)
    echo "usage: $0 up|preview|refresh|destroy" >&2
    exit 2
    ;;
esac
