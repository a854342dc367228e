#!/usr/bin/env bash
# bench-turn.sh: Switchboard's TURN server (media/turn) against coturn, the
# same client load side by side in one run (lab/bench/bench-turn/main.go):
# allocations/s and relayed packets/s with the loss of each, and the ratios.
# BENCHTURN_FLAGS passes flags on, e.g. "-allocs 400 -duration 15s -rounds 3".
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
GO=${GO:-$(command -v go || echo /usr/local/go/bin/go)}
command -v turnserver >/dev/null || { echo "bench-turn: coturn's turnserver missing: make deps-bench" >&2; exit 1; }
cd "$root"
"$GO" build -o bin/bench-turn ./lab/bench/bench-turn
# shellcheck disable=SC2086
exec bin/bench-turn ${BENCHTURN_FLAGS:-}
