#!/usr/bin/env bash
# bench-failover.sh: call setup time through a trunk whose primary server is
# (a) refused (nothing listens on its UDP port) or (b) black-holed (a socket
# that reads and never answers), measured at the caller (SIPp, -trace_rtt):
#   INVITE→180: from the caller's first INVITE (the 407 round trip included)
#               to the 180 the secondary sends through the gateway;
#   INVITE→200: from the authenticated INVITE to the 200 of the secondary.
# dnsmasq publishes _sip._udp.pbx.example.test: priority 10 → 127.0.0.2,
# priority 20 → 127.0.0.3 (SIPp UAS, lab/sipp/call_uas.xml). Every call runs
# against a freshly started gateway (probing off), so each one meets the
# failed primary as "not known down" and pays the whole failover.
# Goal (issue 4): < 1 s refused, < 1.5 s black hole.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${SWITCHBOARD:-$root/bin/switchboard}
calls=${CALLS:-5}
fo=${FAILOVER_TIMEOUT:-500ms}
dnsmasq=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
for t in sipp python3 "$dnsmasq" "$bin"; do
  command -v "$t" >/dev/null || { echo "bench-failover: $t not found" >&2; exit 1; }
done

work=$(mktemp -d /tmp/switchboard-failover.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# freeport HOST...: a UDP port free on every HOST.
freeport() {
  python3 - "$@" <<'PY'
import socket, sys
for _ in range(100):
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind((sys.argv[1], 0))
    p = a.getsockname()[1]; ok = True; held = [a]
    for h in sys.argv[2:]:
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try: b.bind((h, p)); held.append(b)
        except OSError: ok = False
    for s in held: s.close()
    if ok: print(p); break
PY
}

port=$(freeport 127.0.0.2 127.0.0.3)
dnsport=$(freeport 127.0.0.1)
"$dnsmasq" --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
  --bind-interfaces --listen-address=127.0.0.1 --port="$dnsport" \
  --pid-file="$work/dnsmasq.pid" --user="$( [ "$(id -u)" = 0 ] && echo root || id -un)" \
  --local=/test/ --log-facility="$work/dnsmasq.log" \
  --srv-host=_sip._udp.pbx.example.test,primary.pbx.example.test,"$port",10,0 \
  --srv-host=_sip._udp.pbx.example.test,secondary.pbx.example.test,"$port",20,0 \
  --host-record=primary.pbx.example.test,127.0.0.2 \
  --host-record=secondary.pbx.example.test,127.0.0.3 &
pids+=($!)

# The secondary.
(cd "$work" && exec sipp -sf "$root/lab/sipp/call_uas.xml" -i 127.0.0.3 -p "$port" \
  -mp "$(freeport 127.0.0.3)" -cp "$(freeport 127.0.0.3)" -nostdin >/dev/null 2>&1) &
pids+=($!)
sleep 0.3
kill -0 "${pids[-1]}" 2>/dev/null || { echo "bench-failover: the SIPp UAS did not start" >&2; exit 1; }

# The caller: call_uac_auth.xml with response-time markers.
sed -e '0,/<send retrans="500">/s//<send retrans="500" start_rtd="1">/' \
    -e '0,/<send retrans="500">/s//<send retrans="500" start_rtd="2">/' \
    -e 's|<recv response="180" optional="true"/>|<recv response="180" optional="true" rtd="1"/>|' \
    -e 's|<recv response="200" rrs="true"/>|<recv response="200" rrs="true" rtd="2"/>|' \
    "$root/lab/sipp/call_uac_auth.xml" > "$work/uac.xml"
printf 'SEQUENTIAL\nu1000;[authentication username=u1000 password=secret]\n' > "$work/users.csv"
python3 -c 'import sys; sys.stdout.buffer.write(bytes([0x7f,0xff,0x7f,0x00])*2000)' > "$work/tone.ulaw"

# gateway: start a fresh gateway on 127.0.0.1:$sip and wait until ready.
sip=$(freeport 127.0.0.1)
gateway() {
  rm -rf "$work/data"; mkdir -p "$work/data"
  cat > "$work/switchboard.yaml" <<YAML
domain: example.com
data_dir: $work/data
log: {level: info}
sip:
  listen: [udp://127.0.0.1:$sip]
registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: [127.0.0.0/8], exempt_sources: [127.0.0.0/8]}
http:
  listen: 127.0.0.1:0
users:
  - {username: u1000, password: secret}
dns: {servers: ["127.0.0.1:$dnsport"], ipv6: false}
trunks:
  - name: pbx
    target: sip:pbx.example.test;transport=udp
    match: ["2000"]
    failover_timeout: $fo
    probe: {interval: 0s}
YAML
  "$bin" serve --config "$work/switchboard.yaml" > "$work/gateway.log" 2>&1 &
  gw=$!
  for _ in $(seq 1 100); do
    grep -q "switchboard ready" "$work/gateway.log" 2>/dev/null && return 0
    kill -0 $gw 2>/dev/null || { cat "$work/gateway.log" >&2; exit 1; }
    sleep 0.05
  done
  echo "bench-failover: gateway not ready" >&2; cat "$work/gateway.log" >&2; exit 1
}

# onecall CASE: one call through a fresh gateway; appends "rtd ms" lines.
onecall() {
  gateway
  rm -f "$work"/uac_*_rtt.csv
  if ! (cd "$work" && sipp -sf uac.xml -inf users.csv "127.0.0.1:$sip" -s 2000 -auth_uri 2000@example.com -i 127.0.0.1 \
      -p "$(freeport 127.0.0.1)" -mp "$(freeport 127.0.0.1)" -cp "$(freeport 127.0.0.1)" \
      -m 1 -d 100 -nostdin -timeout 20s -timeout_error -trace_rtt -rtt_freq 1 >/dev/null 2>&1); then
    echo "bench-failover: $1: the call failed" >&2; tail -20 "$work/gateway.log" >&2; exit 1
  fi
  kill $gw; wait $gw 2>/dev/null || true
  # Date_ms;response_time_ms;rtd_no
  awk -F';' 'NR>1 && $3 ~ /^[0-9]+$/ {print $3, $2}' "$work"/uac_*_rtt.csv >> "$work/$1.rtt"
}

# stats FILE RTD: "median max" in ms of that timer's samples.
stats() {
  awk -v r="$2" '$1==r {print $2}' "$1" | sort -g | awk '{v[NR]=$1} END {
    if (NR == 0) { print "n/a"; exit }
    m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
    printf "median %7.1f ms   max %7.1f ms   (n=%d)\n", m, v[NR], NR }'
}

# (a) refused: nothing on 127.0.0.2:$port.
for _ in $(seq 1 "$calls"); do onecall refused; done
# (b) black hole: a socket that reads and never answers.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.2", int(sys.argv[1])))
while True: s.recv(65535)' "$port" &
pids+=($!)
sleep 0.2
for _ in $(seq 1 "$calls"); do onecall blackhole; done

echo "bench-failover: trunk sip:pbx.example.test;transport=udp, primary 127.0.0.2:$port, secondary 127.0.0.3:$port"
echo "failover_timeout: $fo   calls per case: $calls (each on a fresh gateway)"
echo "goal: < 1 s refused, < 1.5 s black hole"
for c in refused blackhole; do
  printf '%-10s INVITE→180  %s\n' "$c" "$(stats "$work/$c.rtt" 1)"
  printf '%-10s INVITE→200  %s\n' "" "$(stats "$work/$c.rtt" 2)"
done
