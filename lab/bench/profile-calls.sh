#!/usr/bin/env bash
# profile-calls.sh [SHARED]: the gateway's CPU per call under the
# bench-calls load (SIPp caller with proxy auth -> the gateway, media
# relayed -> a SIPp PBX; the same scenarios, pinning and GOMAXPROCS=1 as
# bench-calls.sh), and optionally its CPU and allocation profiles.
#
# Environment:
#   M        calls (20000)
#   PROFILE  seconds of CPU profile to take from /debug/pprof while the
#            calls run (0, the default: none); written to OUT.cpu and
#            OUT.allocs (OUT: a prefix, default ./calls), and OUT.allocs0,
#            the allocations before the CPU profile: -diff_base OUT.allocs0
#            leaves the calls' own
#   MIDHEAP  seconds: also the live heap that many seconds into the calls
#            (a GC first), written to OUT.midheap: what calls in progress
#            and transactions still absorbing retransmissions hold.
#   HEAP     1: also the live heap right after the last call (a GC first),
#            written to OUT.heap: what the calls leave behind for RFC
#            3261's 32 s timers (go tool pprof -sample_index=inuse_space)
#   KEEP     1: keep the work directory (SIPp's *_errors.log of the
#            failed calls' messages, the gateway's log, stat.csv) and
#            print its path
#   SWITCHBOARD  the binary (default bin/switchboard), so two builds can
#            be compared one after the other: CPU per call moves less
#            with other load on the machine than calls/s, but still does;
#            alternate the builds a few times and compare medians.
# Prints "ok N failed N cpu TICKS = US us/call, F page faults/call" (minor
# faults: fresh memory the heap touches for the first time).
# Read a profile with: go tool pprof -top -cum bin/switchboard calls.cpu
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=$(cd "${1:-$root/../shared}" && pwd)/bench/sip
M=${M:-20000} PROFILE=${PROFILE:-0} OUT=${OUT:-calls} HEAP=${HEAP:-0} MIDHEAP=${MIDHEAP:-0}
for t in sipp taskset curl; do
  command -v "$t" >/dev/null || { echo "profile-calls: $t not found (make deps-bench)" >&2; exit 2; }
done
work=$(mktemp -d /tmp/switchboard-profile-calls.XXXXXX)
pids=()
cleanup() {
  local p
  for p in "${pids[@]:-}"; do [ -n "$p" ] && { kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; }; done
  if [ "${KEEP:-0}" != 0 ]; then echo "profile-calls: work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

"$shared/make-users.sh" "$M" > "$work/users.csv"
mkdir -p "$work/gw"
GOMAXPROCS=1 DATA=$work/gw LOG_LEVEL=warn taskset -c 1 "$here/run-target.sh" > "$work/gateway.log" 2>&1 &
gw=$!; pids+=("$gw")
(cd "$work" && exec taskset -c 0 sipp -sf "$shared/pbx_uas.xml" -i 127.0.0.1 -p 5090 -nostdin >/dev/null 2>&1) &
pids+=("$!")
for _ in $(seq 1 300); do
  ss -Hlun 'sport = :5080' 2>/dev/null | grep -q 127.0.0.1 && break
  kill -0 "$gw" 2>/dev/null || { cat "$work/gateway.log" >&2; exit 1; }
  sleep 0.2
done
sleep 0.5
# run-target.sh execs the binary: $gw is the gateway.
http=$(ss -Htlnp | grep "pid=$gw," | awk '$4 !~ /:5080$/ { print $4 }' | head -1)
c0=$(awk '{ print $14 + $15 }' "/proc/$gw/stat")
f0=$(awk '{ print $10 }' "/proc/$gw/stat")
# SIPp's port: a free one (the relays of gateways on the machine hold
# random ports of the same range; a taken one failed the run with 0 calls).
for _ in $(seq 1 20); do
  port=$((20000 + RANDOM % 20000))
  [ -z "$(ss -Huan "sport = :$port" 2>/dev/null)" ] && break
done
# -recv_timeout: a call whose answer never comes fails after 30 s instead
# of holding SIPp (and the run) open for ever.
(cd "$work" && exec taskset -c 0 sipp -sf "$shared/uac_auth.xml" -inf "$work/users.csv" 127.0.0.1:5080 -s 2000 -recv_timeout 30000 \
  -i 127.0.0.1 -p "$port" -r 100000 -l 200 -m "$M" -nostdin -d 0 -trace_err -trace_stat -stf "$work/stat.csv" >/dev/null 2>&1) &
uac=$!; pids+=("$uac")
# /debug/pprof is for the admin role: the password the gateway wrote at
# its first start.
auth=(--http1.1 -u "admin:$(cat "$work/gw/admin.password")")
if [ "$PROFILE" != 0 ]; then
  sleep 1
  # The allocation profile counts from the process's start (the user
  # import, the directory): a snapshot before the CPU profile, so that
  # go tool pprof -diff_base OUT.allocs0 OUT.allocs shows the calls' own
  # (-sample_index=alloc_space or alloc_objects). Both are the heap
  # profile after a collection (gc=1): an allocation profile is as of the
  # last collection, which GOGC=400 makes rare, and only /heap takes gc=1.
  curl -sfk "${auth[@]}" "https://$http/debug/pprof/heap?gc=1" -o "$OUT.allocs0" ||
    curl -sf "${auth[@]}" "http://$http/debug/pprof/heap?gc=1" -o "$OUT.allocs0"
  curl -sfk "${auth[@]}" "https://$http/debug/pprof/profile?seconds=$PROFILE" -o "$OUT.cpu" ||
    curl -sf "${auth[@]}" "http://$http/debug/pprof/profile?seconds=$PROFILE" -o "$OUT.cpu"
  curl -sfk "${auth[@]}" "https://$http/debug/pprof/heap?gc=1" -o "$OUT.allocs" ||
    curl -sf "${auth[@]}" "http://$http/debug/pprof/heap?gc=1" -o "$OUT.allocs"
fi
if [ "$MIDHEAP" != 0 ]; then
  sleep "$MIDHEAP"
  curl -sfk "${auth[@]}" "https://$http/debug/pprof/heap?gc=1" -o "$OUT.midheap" ||
    curl -sf "${auth[@]}" "http://$http/debug/pprof/heap?gc=1" -o "$OUT.midheap"
fi
wait "$uac" || true
c1=$(awk '{ print $14 + $15 }' "/proc/$gw/stat")
f1=$(awk '{ print $10 }' "/proc/$gw/stat")
if [ "$HEAP" != 0 ]; then
  curl -sfk "${auth[@]}" "https://$http/debug/pprof/heap?gc=1" -o "$OUT.heap" ||
    curl -sf "${auth[@]}" "http://$http/debug/pprof/heap?gc=1" -o "$OUT.heap"
fi
ok=$(tail -1 "$work/stat.csv" | awk -F';' '{ print $16 }'); fail=$(tail -1 "$work/stat.csv" | awk -F';' '{ print $18 }')
awk -v ok="${ok:-0}" -v f="${fail:-0}" -v c="$((c1 - c0))" -v pf="$((f1 - f0))" -v hz="$(getconf CLK_TCK)" \
  'BEGIN { printf "ok %d failed %d cpu %d ticks = %.0f us/call, %.1f page faults/call\n", ok, f, c, (ok ? c / hz * 1e6 / ok : 0), (ok ? pf / ok : 0) }'
