#!/usr/bin/env bash
# fuzz.sh DURATION: runs every Fuzz* target in the module for DURATION each.
# A target fails only on a real finding (a failing input written to its
# testdata/fuzz folder). Go's fuzzer sometimes ends a run with "context
# deadline exceeded" when the time runs out while it is minimising a new
# interesting input; such a run is repeated once instead of failing.
set -euo pipefail
t=${1:-30s}
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
fuzz_once() { "$GO" test -run '^$' -fuzz "^$2\$" -fuzztime "$t" "$1" >"$log" 2>&1; }
for pkg in $($GO list ./...); do
  dir=$($GO list -f '{{.Dir}}' "$pkg")
  for f in $(grep -hoE '^func (Fuzz[A-Za-z0-9_]+)' "$dir"/*_test.go 2>/dev/null | awk '{print $2}' | sort -u); do
    echo "fuzz $pkg $f ($t)"
    fuzz_once "$pkg" "$f" && continue
    if ! grep -q "Failing input written to" "$log" && grep -q "context deadline exceeded" "$log"; then
      echo "  the fuzzer's time ran out while minimising; running $f once more"
      fuzz_once "$pkg" "$f" && continue
    fi
    cat "$log"
    exit 1
  done
done
