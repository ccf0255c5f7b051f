#!/usr/bin/env bash
# Runs every test (unit, real-kernel integration, end-to-end through the real pulumi CLI) and
# ends with one line "N passed, N failed, N skipped". As root, a skipped test is a failure:
# a green run must mean the kernel tests ran.
set -uo pipefail
source "$(dirname "$0")/env.sh"
cd "$_hostnet_root"
mkdir -p test/.work
result=test/.work/jest-result.json
rm -f "$result" test/.work/leaks.jsonl
# execa is ESM-only; jest loads it through require(esm), which needs Node >= 24.9 and this flag.
NODE_OPTIONS="--experimental-vm-modules --no-warnings=ExperimentalWarning ${NODE_OPTIONS:-}" node node_modules/jest/bin/jest.js --json --outputFile="$result" "$@"
rc=$?
if [ ! -s "$result" ]; then
  echo "jest wrote no result"
  echo "0 passed, 1 failed"
  exit 1
fi
read -r passed failed skipped < <(node -e '
  const r = require(process.argv[1]);
  console.log(r.numPassedTests, r.numFailedTests + r.numRuntimeErrorTestSuites, r.numPendingTests + r.numTodoTests);
' "$PWD/$result")
if [ "$(id -u)" = 0 ] && [ "$skipped" != 0 ]; then
  echo "running as root, yet $skipped test(s) were skipped: the kernel tests must run"
  rc=1
fi
if [ "$passed" = 0 ]; then rc=1; fi
if [ -f test/.work/leaks.jsonl ]; then
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const leaked = lines.flatMap((l) => l.leaked.map((x) => `${l.file}: ${x}`));
    console.log(`leak guard: ${leaked.length} leaked objects over ${lines.length} sandboxes`);
    for (const l of leaked.slice(0, 20)) console.log(`  ${l}`);
    process.exit(leaked.length > 0 ? 1 : 0);
  ' "$PWD/test/.work/leaks.jsonl" || { echo "leak guard: a sandbox did not end as it began"; rc=1; }
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $rc
