#!/usr/bin/env bash
# run-target.sh: the gateway as the benchmark target, in the foreground:
# SIP on 127.0.0.1:5080 (UDP+TCP), domain example.com, users u1000..u20999
# with password "secret", data in a fresh temporary directory (or $DATA).
# Calls to 2000@example.com go to the PBX (SIPp UAS) at 127.0.0.1:5090.
# Loopback is exempt from the per-source flood limits so they do not throttle SIPp.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${SWITCHBOARD:-$root/bin/switchboard}
data=${DATA:-$(mktemp -d /tmp/switchboard-bench.XXXXXX)}
mkdir -p "$data"
cat > "$data/switchboard.yaml" <<YAML
domain: example.com
data_dir: $data
log: {level: ${LOG_LEVEL:-warn}}
sip:
  listen: [udp://127.0.0.1:5080, tcp://127.0.0.1:5080]
registrar:
  algorithms: [MD5, SHA-256]   # SIPp answers only the first challenge and knows only MD5
  # The shared harness runs SIPp without -auth_uri: its digest uri is the
  # server's address, not the Request-URI.
  check_digest_uri: false
security:
  exempt_sources: [127.0.0.0/8]
# SIPp places every call from 127.0.0.1, up to 200 at once: no cap on
# calls in setup per source (default 100), as the exemption above lifts
# the per-source rate limit.
call_policy:
  max_ringing_per_source: 0
http:
  listen: 127.0.0.1:0
# The benchmark makes no WebRTC calls and needs no STUN/TURN: any free
# port for the bridge's ICE socket and no TURN listeners, so another
# gateway on the machine (a test on the default 10000 or 3478) does not
# stop this one.
webrtc:
  port: 0
turn:
  enabled: false
trunks:
  - name: pbx
    target: sip:127.0.0.1:5090
    match: ["2000"]
    # One server, a single-threaded SIPp that sends no 100 Trying: under a
    # burst its first answer can take longer than the default 500ms, and
    # there is no other server to fail over to.
    failover_timeout: 5s
YAML
if [ ! -e "$data/switchboard.db" ]; then
  [ -s "$data/users.csv" ] || { echo "username,password,display_name,extension"
    for ((i = 1000; i <= 20999; i++)); do echo "u$i,secret,User $i,$i"; done; } > "$data/users.csv"
  "$bin" users import --config "$data/switchboard.yaml" "$data/users.csv" >&2
fi
# The harness runs SIPp (single-threaded) on the same two cores as the
# target. With both cores the gateway's bursts take SIPp's core, SIPp's
# socket overflows and its 500 ms retransmissions decide the run's length;
# one core for the gateway leaves SIPp its own, as on a real network where
# the phones are elsewhere. GOMAXPROCS in the environment overrides it.
export GOMAXPROCS=${GOMAXPROCS:-1}
exec "$bin" serve --config "$data/switchboard.yaml"
