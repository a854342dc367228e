#!/usr/bin/env bash
# deps.sh run|test|bench: installs what `make run`, `make test` or the
# benchmarks need on Debian. Idempotent: installs only what is missing.
# Needs root for apt-get.
set -euo pipefail
what=${1:-run}
root=$(cd "$(dirname "$0")/.." && pwd)

have() { command -v "$1" >/dev/null 2>&1; }
apt_install() {
  if [ "$(id -u)" != 0 ]; then
    echo "deps: missing $*; run as root or install them: apt-get install -y $*" >&2
    exit 1
  fi
  echo "deps: installing $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "${apt_updated:-}" ]; then apt-get update -qq >/dev/null; apt_updated=1; fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# The Go toolchain named in go.mod. Debian's own golang-go is too old to
# build the module, but it can fetch the exact toolchain from the Go module
# proxy (the same module GOTOOLCHAIN=auto uses), which becomes /usr/local/go.
want=$(sed -n 's/^go //p' "$root/go.mod")
if [ ! -x /usr/local/go/bin/go ] || ! /usr/local/go/bin/go version | grep -q "go$want "; then
  if [ ! -x /usr/local/go/bin/go ]; then
    have go || apt_install golang-go ca-certificates git
    tmp=$(mktemp -d)
    (cd "$tmp" && GOFLAGS=-modcacherw GOMODCACHE="$tmp/mod" GO111MODULE=on \
      go mod download "golang.org/toolchain@v0.0.1-go$want.linux-$(dpkg --print-architecture)")
    cp -a "$tmp/mod/golang.org/toolchain@v0.0.1-go$want.linux-$(dpkg --print-architecture)" /usr/local/go
    chmod -R u+w /usr/local/go
    chmod +x /usr/local/go/bin/* /usr/local/go/pkg/tool/*/*   # module zips keep no modes
    rm -rf "$tmp"
    echo "deps: Go $want installed in /usr/local/go" >&2
  fi
fi

need_apt=()
have npm || need_apt+=(npm)                    # make build bundles the web phone's JsSIP (gateway/webphone)
if [ "$what" = test ] || [ "$what" = bench ]; then
  have chromium  || need_apt+=(chromium)       # the web phone's browser tests (lab/e2e/webphone_test.go)
  have sipp      || need_apt+=(sip-tester)     # SIPp scenarios in lab/e2e and the yardstick
  have baresip   || need_apt+=(baresip)        # a real softphone registering in lab/e2e
  { have dnsmasq || [ -x /usr/sbin/dnsmasq ]; } || need_apt+=(dnsmasq-base)  # a real DNS server for dnssrv
  have tshark    || need_apt+=(tshark)         # reads the ladder's PCAP export (gateway/capture/pcap, lab/e2e/ladder_test.go)
  have turnutils_uclient || need_apt+=(coturn)  # coturn's TURN client in media/turn; turnserver is bench-turn's anchor
  have dpkg-deb  || need_apt+=(dpkg)           # make deb and its test (deploy/deb_test.go)
  have systemd-analyze || need_apt+=(systemd)  # deploy/deb_test.go verifies the packaged unit (systemd-analyze verify/security)
  have zbarimg   || need_apt+=(zbar-tools)     # reads the provisioning QR codes back (gateway/app/provision_test.go)
fi
if [ "$what" = bench ]; then
  have kamailio  || need_apt+=(kamailio)       # the anchor of ../shared/bench/sip
fi
if [ ${#need_apt[@]} -gt 0 ]; then apt_install "${need_apt[@]}"; fi
