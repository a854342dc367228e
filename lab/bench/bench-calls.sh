#!/usr/bin/env bash
# bench-calls.sh SHARED: calls per second through the gateway (B2BUA, 407
# proxy auth, media relayed, calls to a SIPp PBX at 127.0.0.1:5090) against
# Kamailio as an authenticating stateful proxy (the shared anchor config),
# like for like:
#   - SIPp (the caller and the PBX UAS) pinned to core 0, the target
#     (gateway or Kamailio) pinned to core 1 (taskset);
#   - the same number of workers on both sides: GOMAXPROCS=W for the
#     gateway, `kamailio -n W` (the command line overrides the shared
#     config's children=2) for Kamailio; W=1 then W=2. At W=2 the target is
#     pinned to cores 0-1 (this machine has two) and shares core 0 with SIPp;
#   - ROUNDS rounds, the order alternated (odd rounds gateway first, even
#     rounds Kamailio first); min/median/max of each side's calls/s, the
#     median of the per-round ratios gateway/Kamailio, failed calls summed,
#     and the target's CPU time per call (user+system, all its processes);
#   - a variant with RTP on every call (RTP=1, the default): the caller
#     streams G.711 (SIPp rtp_stream, 20 ms packets) for RTP_D ms and the PBX
#     echoes it (-rtp_echo). The gateway relays that media; Kamailio, a
#     proxy without rtpengine, lets it flow from SIPp to SIPp directly.
# The shared scenarios (../shared/bench/sip) are reused; the RTP caller is
# uac_auth.xml with the rtp_stream actions inserted around its pause.
# A call's rate is its successful calls over the SIPp run's wall time.
#
# Environment: N (calls per round, 3000), ROUNDS (5), WORKERS ("1 2"),
# RTP (1; 0 skips the RTP variant), VARIANTS ("plain rtp": the variants to
# run, e.g. VARIANTS=rtp for the RTP one only), RTP_N (calls per RTP round, 2000),
# RTP_D (ms of media per call, 1000), RTP_L (concurrent RTP calls, 400),
# KEEP=1 keeps the work directory.
# Goal (issue 11): >= 1.2x Kamailio's calls/s at equal cores, 0 failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=$(cd "${1:-$root/../shared}" && pwd)/bench/sip
N=${N:-3000} ROUNDS=${ROUNDS:-5} WORKERS=${WORKERS:-1 2} RTP=${RTP:-1}
RTP_N=${RTP_N:-2000} RTP_D=${RTP_D:-1000} RTP_L=${RTP_L:-400}
for t in sipp kamailio taskset python3; do
  command -v "$t" >/dev/null || { echo "bench-calls: $t not found (make deps-bench)" >&2; exit 2; }
done
[ "$(nproc)" -ge 2 ] || { echo "bench-calls: needs 2 cores" >&2; exit 2; }

work=$(mktemp -d /tmp/switchboard-bench-calls.XXXXXX)
pids=()
stop() { local p; for p in "$@"; do [ -n "$p" ] && { kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; }; done; }
cleanup() {
  stop "${pids[@]:-}"
  [ -s "$work/kam.pid" ] && kill "$(cat "$work/kam.pid")" 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "bench-calls: work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

"$shared/make-users.sh" "$(( N > RTP_N ? N : RTP_N ))" > "$work/users.csv"
python3 -c 'import sys; sys.stdout.buffer.write(bytes([0x7f,0xff,0x7f,0x00])*4000)' > "$work/tone.ulaw"
# The RTP caller: the shared uac_auth.xml, media started after the ACK and
# stopped before the BYE.
awk '
  /^  <pause\/>/ {
    print "  <nop><action><exec rtp_stream=\"tone.ulaw,-1,0\"/></action></nop>"
    print; print "  <nop><action><exec rtp_stream=\"pause\"/></action></nop>"; next }
  { print }' "$shared/uac_auth.xml" > "$work/uac_rtp.xml"
grep -q rtp_stream "$work/uac_rtp.xml" || { echo "bench-calls: could not derive the RTP caller" >&2; exit 1; }

port=$((20000 + RANDOM % 20000))

# start_pbx ECHO: the PBX UAS on 127.0.0.1:5090, on core 0 (-rtp_echo if ECHO=1).
start_pbx() {
  local extra=()
  [ "$1" = 1 ] && extra=(-rtp_echo -mp $((port + 5000)))
  (cd "$work" && exec taskset -c 0 sipp -sf "$shared/pbx_uas.xml" -i 127.0.0.1 -p 5090 -nostdin "${extra[@]}" >/dev/null 2>&1) &
  pbx=$!; pids+=("$pbx"); sleep 0.3
  kill -0 "$pbx" 2>/dev/null || { echo "bench-calls: the PBX UAS could not start: is 127.0.0.1:5090 taken?" >&2; exit 2; }
}

# start_targets W CPUS: the gateway (run-target.sh, 127.0.0.1:5080) and
# Kamailio (127.0.0.1:5070), each with W workers, pinned to CPUS.
start_targets() {
  local w=$1 cpus=$2
  # The same data directory each time: run-target.sh imports the users once.
  mkdir -p "$work/gw"
  GOMAXPROCS=$w DATA=$work/gw LOG_LEVEL=warn taskset -c "$cpus" "$here/run-target.sh" > "$work/gateway.log" 2>&1 &
  gw=$!; pids+=("$gw")
  for _ in $(seq 1 300); do
    ss -Hlun 'sport = :5080' 2>/dev/null | grep -q 127.0.0.1 && break
    kill -0 "$gw" 2>/dev/null || { cat "$work/gateway.log" >&2; exit 1; }
    sleep 0.2
  done
  ss -Hlun 'sport = :5080' | grep -q 127.0.0.1 || { echo "bench-calls: the gateway did not listen on 5080" >&2; cat "$work/gateway.log" >&2; exit 1; }
  sleep 0.5
  taskset -c "$cpus" kamailio -f "$shared/kamailio-anchor.cfg" -m 512 -n "$w" -P "$work/kam.pid" -w "$work" \
    -A 'LISTEN=udp:127.0.0.1:5070' -A 'PBX_ADDR="sip:127.0.0.1:5090"' > "$work/kam.log" 2>&1 \
    || { echo "bench-calls: kamailio failed:" >&2; cat "$work/kam.log" >&2; exit 1; }
  sleep 0.5
  kam=$(cat "$work/kam.pid")
}

stop_targets() {
  stop "$gw"
  kill "$kam" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$kam" 2>/dev/null || break; sleep 0.1; done
  rm -f "$work/kam.pid"
}

# udp_in: the host's UDP datagrams received so far (/proc/net/snmp), to
# show that media flows (machine-wide, so other traffic adds to it).
udp_in() { awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { print $2 }' /proc/net/snmp; }

# cpu_ticks PID...: user+system CPU time of PIDS and their children
# processes, in clock ticks (a figure less sensitive than calls/s to other
# load on the machine).
cpu_ticks() {
  local p all=()
  for p in "$@"; do all+=("$p" $(pgrep -P "$p" || true)); done
  for p in "${all[@]}"; do awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || true; done | awk '{ t += $1 } END { print t + 0 }'
}

# run_sipp TARGET VARIANT PORT: one round against TARGET, SIPp on PORT;
# prints "rate ok failed datagrams-per-call target-CPU-µs-per-call".
run_sipp() {
  local target=$1 variant=$2 port=$3 n scen limit extra tpid c0 c1 hz
  hz=$(getconf CLK_TCK)
  if [ "$target" = 127.0.0.1:5080 ]; then tpid=$gw; else tpid=$kam; fi
  if [ "$variant" = rtp ]; then
    n=$RTP_N scen=$work/uac_rtp.xml limit=$RTP_L extra=(-d "$RTP_D" -mp $((port + 7000)))
  else
    n=$N scen=$shared/uac_auth.xml limit=200 extra=(-d 0)
  fi
  local stf="$work/stat.$port.csv" t0 t1 ok fail u0 u1
  u0=$(udp_in); c0=$(cpu_ticks "$tpid"); t0=$(date +%s.%N)
  (cd "$work" && timeout 300 taskset -c 0 sipp -sf "$scen" -inf "$work/users.csv" "$target" -s 2000 -i 127.0.0.1 -p "$port" \
    -r 100000 -l "$limit" -m "$n" -nostdin -trace_stat -stf "$stf" "${extra[@]}" >/dev/null 2>&1) || true
  t1=$(date +%s.%N); u1=$(udp_in); c1=$(cpu_ticks "$tpid")
  ok=$(tail -1 "$stf" 2>/dev/null | awk -F';' '{print $16}'); fail=$(tail -1 "$stf" 2>/dev/null | awk -F';' '{print $18}')
  ok=${ok:-0} fail=${fail:-$n}
  awk -v ok="$ok" -v n="$n" -v t0="$t0" -v t1="$t1" -v u="$((u1 - u0))" -v c="$((c1 - c0))" -v hz="$hz" \
    'BEGIN { printf "%.0f %d %d %.0f %.0f\n", ok / (t1 - t0), ok, n - ok, u / n, (ok ? c / hz * 1e6 / ok : 0) }'
}

# summary LABEL FILE: min/median/max of column 1 (rate) and the failures.
summary() {
  local cm
  cm=$(sort -n -k5,5 "$2" | awk '{ c[NR] = $5 } END { print (NR % 2) ? c[(NR + 1) / 2] : (c[NR / 2] + c[NR / 2 + 1]) / 2 }')
  sort -n -k1,1 "$2" | awk -v l="$1" -v cm="$cm" '{ v[NR] = $1; f += $3 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "  %-9s calls/s min %5d  median %6.0f  max %5d   failed %d   CPU per call median %.0f µs\n", l, v[1], m, v[NR], f, cm }'
}

# bench VARIANT W CPUS
bench() {
  local variant=$1 w=$2 cpus=$3 r a b
  : > "$work/gw.res"; : > "$work/kam.res"; : > "$work/ratio.res"
  echo "== $variant, $w worker(s) each (gateway GOMAXPROCS=$w, kamailio -n $w), target on core(s) $cpus, SIPp on core 0, $ROUNDS rounds of $([ "$variant" = rtp ] && echo "$RTP_N calls, ${RTP_D} ms of RTP each" || echo "$N calls")"
  for ((r = 1; r <= ROUNDS; r++)); do
    port=$((port + 2))
    if ((r % 2)); then
      a=$(run_sipp 127.0.0.1:5080 "$variant" $port); b=$(run_sipp 127.0.0.1:5070 "$variant" $((port + 1))); local first=gateway
    else
      b=$(run_sipp 127.0.0.1:5070 "$variant" $port); a=$(run_sipp 127.0.0.1:5080 "$variant" $((port + 1))); local first=kamailio
    fi
    echo "$a" >> "$work/gw.res"; echo "$b" >> "$work/kam.res"
    read -r ar _ af au ac <<< "$a"; read -r br _ bf bu bc <<< "$b"
    awk -v a="$ar" -v b="$br" 'BEGIN { printf "%.3f\n", (b > 0 ? a / b : 0) }' >> "$work/ratio.res"
    printf '  round %d (%s first): gateway %5d/s (%d failed, %d UDP datagrams/call, %d µs CPU/call), kamailio %5d/s (%d failed, %d UDP datagrams/call, %d µs CPU/call)\n' \
      "$r" "$first" "$ar" "$af" "$au" "$ac" "$br" "$bf" "$bu" "$bc"
  done
  summary gateway "$work/gw.res"
  summary kamailio "$work/kam.res"
  sort -n "$work/ratio.res" | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "  ratio gateway/kamailio per round: min %.3f  median %.3f  max %.3f   (goal >= 1.2, 0 failed)\n", v[1], m, v[NR] }'
}

echo "bench-calls: $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
variants=(plain)
[ "$RTP" != 0 ] && variants+=(rtp)
[ -n "${VARIANTS:-}" ] && read -r -a variants <<< "$VARIANTS"
for variant in "${variants[@]}"; do
  start_pbx "$([ "$variant" = rtp ] && echo 1 || echo 0)"
  for w in $WORKERS; do
    cpus=1; [ "$w" -ge 2 ] && cpus=0-1
    start_targets "$w" "$cpus"
    bench "$variant" "$w" "$cpus"
    stop_targets
  done
  stop "$pbx"
done
echo "bench-calls: load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
