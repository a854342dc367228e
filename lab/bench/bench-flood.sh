#!/usr/bin/env bash
# bench-flood.sh SHARED: legitimate traffic under a flood (issue 10, "Measure").
#
# The gateway (SIP on UDP 127.0.0.1, users u1000..u1199 / "secret", calls to
# 2000 routed to the lab PBX simulator on 127.0.0.10) is driven in three
# phases of legitimate traffic from 127.0.0.1 (SIPp: REGISTER with digest,
# calls with proxy auth, both from ../shared/bench/sip):
#   before   legitimate traffic only
#   flood    the same while SIPp floods INVITE (127.0.0.2-5) and REGISTER
#            (127.0.0.6-9) with wrong passwords for the same users, and
#            udpgarbage sprays junk datagrams from 127.0.0.2-9
#   after    legitimate traffic only, once the flood has stopped
# It prints per phase the share of legitimate transactions that succeeded,
# the gateway's RSS (before, peak during, after), the bans observed (the
# PBX and 127.0.0.1 must not be among them) and the guard's counters.
# Goal: >= 99 % legitimate success, RSS after within 20 % of before, PBX
# never banned. With kamailio installed (make deps-bench) the same flood
# runs against Kamailio with pike (lab/bench/kamailio-flood.cfg) as the
# anchor; ANCHOR=0 skips it.
#
# The gateway collects garbage at GOGC=400, so its RSS climbs for a minute
# or two of traffic before it levels off; a warm-up phase of the same
# legitimate traffic (T_WARMUP) comes first so that "before" is that level,
# and the live heap after each collection (gctrace) is printed beside RSS.
# Before the "before" and "after" figures the script has the gateway
# collect garbage (/debug/pprof/heap?gc=1, with the admin's credentials)
# and waits 10 s (two periods of the gateway's memory watchdog), so that
# both are taken in the same state rather than wherever GOGC's cycle
# happens to stand. The RSS timeline shows when memory came back without
# that collection (the watchdog notices a burst that stopped allocating
# within about 40 s).
#
# Environment: T_WARMUP (seconds; 90), T_BEFORE, T_FLOOD, T_AFTER (seconds; 15, 40, 15), SETTLE
# (seconds between flood and after; 20), REG_RATE and CALL_RATE (legitimate,
# per second; 20 and 5), FLOOD_RATE (calls per second per attacking SIPp;
# 150), GARBAGE_RATE (datagrams per second; 2000), BANS=0 to run the
# gateway with security.ban.failures 0 (the flood then meets the rate limit
# and the bounded pools instead of bans), FLOOD=0 for a control run of the
# same phases without the flood (what legitimate traffic alone does to RSS),
# PROFILES=DIR to keep the gateway's heap profiles (before.heap, after.heap),
# KEEP=1 to keep the work directory (logs, SIPp statistics).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
shared=$(cd "${1:-$root/../shared}" && pwd)/bench/sip
bin=${SWITCHBOARD:-$root/bin/switchboard}
T_WARMUP=${T_WARMUP:-90} T_BEFORE=${T_BEFORE:-15} T_FLOOD=${T_FLOOD:-40} T_AFTER=${T_AFTER:-15} SETTLE=${SETTLE:-20}
REG_RATE=${REG_RATE:-20} CALL_RATE=${CALL_RATE:-5} FLOOD_RATE=${FLOOD_RATE:-150} GARBAGE_RATE=${GARBAGE_RATE:-2000}
command -v sipp >/dev/null || { echo "sipp not found: make deps-test" >&2; exit 2; }

work=$(mktemp -d /tmp/switchboard-flood.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "bench-flood: work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

(cd "$root" && go build -o "$work/pbxsim" ./lab/pbx/cmd/pbxsim && go build -o "$work/udpgarbage" ./lab/bench/udpgarbage)
# The legitimate scenarios are the shared ones with one change: a 401/407
# retransmitted for the first request (SIPp retransmits it after 500 ms
# when the answer is late, and the gateway answers each copy) may arrive
# after SIPp sent the request with credentials. A transaction layer
# absorbs it (RFC 3261 §17.1.1.2, §17.1.2.2); SIPp aborts the call, which
# measured SIPp's scenario, not the gateway. It is optional here, so a
# call fails only when the answer to the request with credentials is not
# the 200 (a 401/407 there ends in SIPp's receive timeout).
sed 's|^  <recv response="200"/>|  <recv response="401" optional="true"/>\n  <recv response="200"/>|' "$shared/reg_auth.xml" > "$work/reg_auth.xml"
sed 's|^  <recv response="180" optional="true"/>|  <recv response="407" optional="true"/>\n  <recv response="180" optional="true"/>|' "$shared/uac_auth.xml" > "$work/uac_auth.xml"
grep -q 'response="401" optional' "$work/reg_auth.xml" && grep -q 'response="407" optional' "$work/uac_auth.xml" ||
  { echo "bench-flood: cannot adapt the shared SIPp scenarios" >&2; exit 1; }
"$shared/make-users.sh" 200 secret 1000 > "$work/good.csv"
"$shared/make-users.sh" 200 wrong-guess 1000 > "$work/bad.csv"

# The PBX on its own loopback address, so a ban of it would show.
"$work/pbxsim" -listen 127.0.0.10:0 -answer 2000 -media silent > "$work/pbx.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q "pbxsim listening" "$work/pbx.log" && break; sleep 0.1; done
pbx=$(sed -n 's/^pbxsim listening udp //p' "$work/pbx.log")
[ -n "$pbx" ] || { cat "$work/pbx.log"; exit 1; }

sport=$((20000 + RANDOM % 20000))
next_port() { sport=$((sport + 1)); } # then use $sport (no subshell: the count must stick)

# legit KIND TARGET SECONDS PORT: runs legitimate SIPp traffic from
# 127.0.0.1 and prints "ok failed".
legit() {
  local kind=$1 target=$2 secs=$3 port=$4 scen rate extra=()
  # -auth_uri: the digest uri must be the Request-URI (RFC 3261 §22.4;
  # registrar.check_digest_uri), SIPp would use the remote address.
  if [ "$kind" = register ]; then scen=reg_auth.xml rate=$REG_RATE extra=(-auth_uri example.com)
  else scen=uac_auth.xml rate=$CALL_RATE extra=(-s 2000 -auth_uri 2000@example.com -d 500); fi
  local n=$((rate * secs)) stf="$work/stat.$kind.$port.csv"
  timeout $((secs + 60)) sipp -sf "$work/$scen" -inf "$work/good.csv" "$target" -i 127.0.0.1 -p "$port" \
    -r "$rate" -m "$n" -l 1000 -recv_timeout 10000 -nostdin -trace_stat -stf "$stf" -trace_err -error_file "$work/errors.$kind.$port.log" "${extra[@]}" >"$work/sipp.$port.out" 2>&1 || true
  local ok
  ok=$(tail -1 "$stf" 2>/dev/null | awk -F';' '{print $16}')
  [ "${ok:-0}" = 0 ] && { echo "  legitimate SIPp ($kind, port $port) got nothing through:"; tail -5 "$work/sipp.$port.out"; } >&2
  echo "${ok:-0} $(( n - ${ok:-0} ))"
}

# phase NAME TARGET SECONDS: legitimate registrations and calls side by side.
phase() {
  local name=$1 target=$2 secs=$3
  local p1 p2
  next_port; p1=$sport; next_port; p2=$sport
  legit register "$target" "$secs" "$p1" > "$work/$name.reg" &
  local a=$!
  legit calls "$target" "$secs" "$p2" > "$work/$name.calls" &
  local b=$!
  wait $a $b
  read -r rok rfail < "$work/$name.reg"; read -r cok cfail < "$work/$name.calls"
  awk -v n="$name" -v ro="$rok" -v rf="$rfail" -v co="$cok" -v cf="$cfail" 'BEGIN {
    t = ro + rf + co + cf
    printf "  %-7s legitimate REGISTER %d/%d, calls %d/%d: %.2f %% succeeded\n", n, ro, ro + rf, co, co + cf, (t ? 100 * (ro + co) / t : 0) }'
}

# flood TARGET SECONDS: attackers from 127.0.0.2-9, in the background.
flood() {
  local target=$1 secs=$2 ip
  for i in 2 3 4 5; do
    next_port
    sipp -sf "$shared/uac_auth.xml" -inf "$work/bad.csv" -s 2000 -auth_uri 2000@example.com "$target" -i "127.0.0.$i" -p "$sport" \
      -r "$FLOOD_RATE" -l 3000 -recv_timeout 2000 -max_retrans 1 -timeout "${secs}s" -nostdin >/dev/null 2>&1 &
    pids+=($!)
  done
  for i in 6 7 8 9; do
    next_port
    sipp -sf "$shared/reg_auth.xml" -inf "$work/bad.csv" -auth_uri example.com "$target" -i "127.0.0.$i" -p "$sport" \
      -r "$FLOOD_RATE" -l 3000 -recv_timeout 2000 -max_retrans 1 -timeout "${secs}s" -nostdin >/dev/null 2>&1 &
    pids+=($!)
  done
  "$work/udpgarbage" -target "$target" -rate "$GARBAGE_RATE" -duration "${secs}s" > "$work/garbage.out" 2>&1 &
  pids+=($!)
}

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

# --- the gateway ---
data=$work/gw
mkdir -p "$data"
cat > "$data/switchboard.yaml" <<YAML
domain: example.com
data_dir: $data
log: {level: info}
sip:
  listen: [udp://127.0.0.1:0]
registrar:
  algorithms: [MD5, SHA-256]   # SIPp answers only the first challenge and knows only MD5
http:
  listen: 127.0.0.1:0
$([ "${BANS:-1}" = 0 ] && echo "security: {ban: {failures: 0}}")
# Off or on any free port: other gateways (tests, benches) may run beside.
turn: {enabled: false}
webrtc: {port: 0}
attendant: {console_link: {tls: ""}}
trunks:
  - name: pbx
    target: sip:$pbx
    match: ["2000"]
    failover_timeout: 5s
YAML
{ echo "username,password,display_name,extension"
  for ((i = 1000; i < 1200; i++)); do echo "u$i,secret,User $i,$i"; done; } > "$data/users.csv"
"$bin" users import --config "$data/switchboard.yaml" "$data/users.csv" >/dev/null 2>&1
GODEBUG=gctrace=1 GOMAXPROCS=${GOMAXPROCS:-1} "$bin" serve --config "$data/switchboard.yaml" > "$work/gateway.log" 2>&1 &
gw=$!
pids+=($gw)
for _ in $(seq 100); do grep -q "switchboard ready" "$work/gateway.log" && break; sleep 0.1; done
grep -q "switchboard ready" "$work/gateway.log" || { cat "$work/gateway.log"; exit 1; }
sip=$(grep 'msg="sip listening"' "$work/gateway.log" | sed -n 's/.* transport=udp addr=\([^ ]*\).*/\1/p' | head -1)
https=$(sed -n 's/.*msg="https listening" addr=\([^ ]*\).*/\1/p' "$work/gateway.log" | head -1)
# The API and /debug/ need an account: the admin password the gateway
# wrote at first start (README "Accounts"), as Basic credentials.
api() { curl -sk -u "admin:$(cat "$data/admin.password")" "https://$https$1"; }
metric() { curl -sk "https://$https/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
# live: the live heap (MB) after the last garbage collection so far, from
# gctrace ("gc N @t: ... A->B->LIVE MB"): the state the gateway holds, apart
# from garbage the collector has not reached yet (GOGC is 400).
live() { grep -o -- '->[0-9]* MB' "$work/gateway.log" | tail -1 | tr -dc '0-9'; }
# heap: the Go runtime's view, to tell live state from memory not yet
# returned to the kernel.
heap() {
  curl -sk "https://$https/metrics" | awk '
    $1 == "go_memstats_heap_inuse_bytes" { u = $2 } $1 == "go_memstats_heap_idle_bytes" { i = $2 }
    $1 == "go_memstats_heap_released_bytes" { r = $2 } $1 == "go_goroutines" { g = $2 }
    END { printf "heap in use %.1f MiB, idle not released %.1f MiB, goroutines %d", u / 1048576, (i - r) / 1048576, g }'
}

echo "bench-flood: gateway $sip, PBX $pbx; warm-up ${T_WARMUP}s, before ${T_BEFORE}s, flood ${T_FLOOD}s (SIPp ${FLOOD_RATE}/s x 8 sources, junk ${GARBAGE_RATE}/s), settle ${SETTLE}s, after ${T_AFTER}s"
[ "$T_WARMUP" -gt 0 ] && phase warmup "$sip" "$T_WARMUP"
phase before "$sip" "$T_BEFORE"
collect() { api "/debug/pprof/heap?gc=1" > /dev/null; sleep 10; }
collect
rss_before=$(rss $gw)
live_before=$(live)
heap_before=$(heap)
[ -n "${PROFILES:-}" ] && mkdir -p "$PROFILES" && api /debug/pprof/heap > "$PROFILES/before.heap"
[ "${FLOOD:-1}" != 0 ] && flood "$sip" "$T_FLOOD"
( peak=0 n=0; while kill -0 $gw 2>/dev/null; do
    r=$(rss $gw); [ "$r" -gt "$peak" ] && peak=$r && echo $peak > "$work/peak"
    [ $((n % 10)) = 0 ] && echo "$((n / 2))s:$((r / 1024))" >> "$work/timeline"
    n=$((n + 1)); sleep 0.5
  done ) &
sampler=$!
pids+=($sampler)
phase flood "$sip" "$T_FLOOD"
heap_flood=$(heap)
live_flood=$(live)
tx_flood="transactions alive $(metric switchboard_sip_transactions), shed $(metric switchboard_sip_transactions_shed_total)"
sleep 2 # the attackers' -timeout ends them
sleep "$SETTLE"
phase after "$sip" "$T_AFTER"
collect
rss_after=$(rss $gw)
live_after=$(live)
heap_after=$(heap)
[ -n "${PROFILES:-}" ] && api /debug/pprof/heap > "$PROFILES/after.heap"
kill $sampler 2>/dev/null || true
rss_peak=$(cat "$work/peak" 2>/dev/null || echo 0)
awk -v b="$rss_before" -v p="$rss_peak" -v a="$rss_after" 'BEGIN {
  printf "  RSS before %.1f MiB, peak during flood %.1f MiB, after %.1f MiB (%+.1f %% vs before)\n", b / 1024, p / 1024, a / 1024, (b ? 100 * (a - b) / b : 0) }'
echo "  RSS MiB every 5s from the start of the flood: $(tr '\n' ' ' < "$work/timeline")"
echo "  live heap after the last GC: before ${live_before:-?} MB, end of flood ${live_flood:-?} MB, after ${live_after:-?} MB"
echo "  Go before: $heap_before"
echo "  Go at the end of the flood: $heap_flood; $tx_flood"
echo "  Go after: $heap_after"
banjson=$(api /api/v1/bans)
case $banjson in \[*|null) ;; *) echo "  FAIL: cannot read the bans: $banjson";; esac
bans=$(echo "$banjson" | { grep -o '"ip": *"[^"]*"' || true; } | sed 's/.*"\([^"]*\)"$/\1/' | sort | tr '\n' ' ')
echo "  bans observed: ${bans:-none}"
case " $bans " in *" ${pbx%:*} "*) echo "  FAIL: the PBX ${pbx%:*} was banned";; esac
case " $bans " in *" 127.0.0.1 "*) echo "  FAIL: the legitimate users' 127.0.0.1 was banned";; esac
echo "  gateway: rate_limited $(metric switchboard_sip_rate_limited_total), banned_dropped $(metric switchboard_sip_banned_dropped_total)," \
  "malformed $(metric switchboard_sip_malformed_total), overloaded(503) $(metric switchboard_sip_overloaded_total)," \
  "auth_failed $(metric switchboard_registrar_auth_failed_total), answer_cache $(metric switchboard_sip_answer_cache_entries) entries," \
  "panics $(metric switchboard_sip_handler_panics_total); $(cat "$work/garbage.out")"
kill $gw; wait $gw 2>/dev/null || true

# --- the anchor: Kamailio with pike ---
if [ "${ANCHOR:-1}" != 0 ] && command -v kamailio >/dev/null; then
  kport=$((40000 + RANDOM % 20000))
  kamailio -f "$here/kamailio-flood.cfg" -m 256 -P "$work/kam.pid" -w "$work" \
    -A "LISTEN=udp:127.0.0.1:$kport" -A "PBX_ADDR=\"sip:$pbx\"" 2> "$work/kam.log" || { echo "kamailio failed:"; cat "$work/kam.log"; exit 1; }
  sleep 0.5
  kam=$(cat "$work/kam.pid"); pids+=("$kam")
  echo "anchor: kamailio with pike on 127.0.0.1:$kport, the same phases"
  phase before "127.0.0.1:$kport" "$T_BEFORE"
  flood "127.0.0.1:$kport" "$T_FLOOD"
  phase flood "127.0.0.1:$kport" "$T_FLOOD"
  sleep 2
  sleep "$SETTLE"
  phase after "127.0.0.1:$kport" "$T_AFTER"
fi
