#!/usr/bin/env bash
# deps.sh run|test: installs what `make run` or `make test` needs on Debian.
# Idempotent: installs only what is missing. Needs root for apt-get.
set -euo pipefail
what=${1:-run}

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }

# The Go toolchain: go.mod names the exact version; an older Debian golang-go
# fetches it from the Go module proxy by itself (GOTOOLCHAIN=auto).
if ! have go && [ ! -x /usr/local/go/bin/go ]; then need_apt+=(golang-go ca-certificates git); fi

if [ "$what" = test ]; then
  have sipp      || need_apt+=(sip-tester)
  have baresip   || need_apt+=(baresip)
  have kamailio  || need_apt+=(kamailio)
  have openssl   || need_apt+=(openssl)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "deps: missing ${need_apt[*]}; run as root or install them: apt-get install -y ${need_apt[*]}" >&2
    exit 1
  fi
  echo "deps: installing ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
