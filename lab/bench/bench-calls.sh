#!/usr/bin/env bash
# bench-calls.sh SHARED: call rate of the gateway (B2BUA, 407 proxy auth,
# calls to the PBX at 127.0.0.1:5090) against Kamailio as a stateful proxy,
# side by side in one run (../shared/bench/sip/bench.sh ratio calls).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=$(cd "${1:-$here/../../../shared}" && pwd)
data=$(mktemp -d /tmp/switchboard-bench.XXXXXX)
LOG_LEVEL=info DATA=$data "$here/run-target.sh" > "$data/gateway.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do
  grep -q "switchboard ready" "$data/gateway.log" 2>/dev/null && break
  kill -0 $pid 2>/dev/null || { cat "$data/gateway.log"; exit 1; }
  sleep 0.2
done
"$shared/bench/sip/bench.sh" ratio calls 127.0.0.1:5080 "${N:-5000}" "${ROUNDS:-3}"
