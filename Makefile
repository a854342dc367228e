# Switchboard: the two commands are `make run` and `make test`.
# Both install what they need on a fresh Debian machine when run as root.

GO         = $(shell [ -x /usr/local/go/bin/go ] && echo /usr/local/go/bin/go || command -v go)
BIN       := bin/switchboard
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
PKGS      := ./...
SHARED    ?= ../shared

.PHONY: all build deb webphone run test vet fuzz deps deps-test deps-bench bench-register bench-calls bench-rtp bench-webrtc bench-failover bench-cti bench-flood bench-turn bench-console clean

all: build

## build: compile the one binary into bin/switchboard (with the web phone's JsSIP bundle)
build: deps webphone
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/switchboard

## deb: the Debian package bin/switchboard_VERSION_ARCH.deb (dpkg-deb; VERSION from git describe): the binary,
## the hardened systemd unit and the default config /etc/switchboard/switchboard.yaml (deploy/)
deb: build
	@deploy/mkdeb.sh $(BIN) bin

## webphone: bundle JsSIP (npm package, pinned by gateway/webphone/package-lock.json) into
## gateway/webphone/static/vendor/jssip.min.js (with its licenses beside it), which the binary embeds; npm runs no install scripts
WEBPHONE  := gateway/webphone
webphone: $(WEBPHONE)/static/vendor/jssip.min.js
$(WEBPHONE)/static/vendor/jssip.min.js: $(WEBPHONE)/package.json $(WEBPHONE)/package-lock.json $(WEBPHONE)/licenses.mjs
	cd $(WEBPHONE) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && npm run --silent build

## run: install what is needed, build, and start on the embedded local defaults
run: build
	./$(BIN) serve $(if $(CONFIG),--config $(CONFIG))

## test: everything CI runs: vet, unit tests with -race, the lab tests against
## real SIP clients (SIPp, baresip, a WebSocket client), and short fuzzing
test: deps-test build vet
	$(GO) test -race -count=1 -timeout 20m $(PKGS)
	$(MAKE) --no-print-directory fuzz FUZZTIME=10s

vet:
	$(GO) vet $(PKGS)
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

## fuzz: run each fuzz target of the parsers we own for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

## deps: the Go toolchain (module download happens in go build)
deps:
	@scripts/deps.sh run

## deps-test: the real peers the tests drive (sipp, baresip)
deps-test:
	@scripts/deps.sh test

## deps-bench: the test peers plus Kamailio, the benchmark anchor
deps-bench:
	@scripts/deps.sh bench

## bench-register: REGISTER rate against Kamailio (the anchor) with the shared SIPp harness
bench-register: build deps-bench
	@lab/bench/bench-register.sh $(SHARED)

## bench-calls: calls/s through the B2BUA against Kamailio, like for like (pinned cores, 1 vs 1 and 2 vs 2 workers, alternated rounds, with and without RTP)
bench-calls: build deps-bench
	@lab/bench/bench-calls.sh $(SHARED)

## bench-failover: call setup time (INVITE→180/200 at the caller) when the trunk's primary is refused or black-holed
bench-failover: build
	@lab/bench/bench-failover.sh

## bench-flood: legitimate REGISTERs and calls from 127.0.0.1 while SIPp floods bad credentials and junk from
## 127.0.0.2-9: share of legitimate success, RSS before/during/after, bans; Kamailio with pike as the anchor
bench-flood: build deps-bench
	@lab/bench/bench-flood.sh $(SHARED)

## bench-rtp: RTP relay under N concurrent G.711 calls on loopback; largest N with < 0.1 % loss
## and the generator on time (RTPBENCH_FLAGS="-calls 2000" for one run instead of the search)
bench-rtp:
	$(GO) build -o bin/rtpbench ./media/bench/rtpbench && bin/rtpbench $(or $(RTPBENCH_FLAGS),-search)

## bench-webrtc: N concurrent bridged calls, pion browsers (DTLS-SRTP) <-> media/webrtc <-> media/relay <->
## plain RTP, G.711 20 ms both ways; largest N with < 0.1 % loss, CPU us per packet, memory per call, setup p50/p99
## (WEBRTCBENCH_FLAGS="-calls 200" for one run instead of the search; "-compare -calls 300": pion's per-packet
## path (the anchor) vs the SRTP fast path side by side, "-base OLDBIN -rounds 3" adds an older build's fast path;
## "-gw-cpus 1" pins the gateway side to CPU 1; "-compare -uring-off" adds this build without io_uring)
bench-webrtc:
	$(GO) build -o bin/webrtcbench ./media/bench/webrtcbench && bin/webrtcbench $(or $(WEBRTCBENCH_FLAGS),-search)

## bench-cti: CTI events simulator → Mitel driver process → gRPC → host consumer with 5,000 monitors
## (p50/p99 latency, events/s; paced and unpaced), then kill -9 of the driver under load with 1,000 monitors,
## then for each driver (Mitel, Avaya, Cisco, side by side) every lamp of 5,000 devices after kill -9, a PBX
## link drop and a forced sequence gap, then each driver's 10-minute chaos run from its simulator's own faults
## (CTIBENCH_FLAGS="-chaos 1m" for a shorter one, "-lamps 0" to skip, "-driver avaya" for one driver,
## "-mwi-ab 3" for the message-waiting query's share of the restore instead)
bench-cti:
	$(GO) build -o bin/ctibench ./lab/bench/ctibench && bin/ctibench $(CTIBENCH_FLAGS)

## bench-console: 200 console WebSockets x 1,000 devices, a call storm on the Mitel simulator through the driver
## process and the gateway: p50/p99 PBX event -> console frame (and its two stages), frames/s and gateway CPU per frame,
## against 1 console side by side (goal p99 < 20 ms); shapes shared and pinned (gateway on core 1, consoles on core 0)
bench-console: build
	$(GO) build -o bin/consolebench ./lab/bench/consolebench && bin/consolebench -bin $(BIN) $(CONSOLEBENCH_FLAGS)

## bench-turn: our TURN server against coturn (started on other loopback ports, same secret), the same load
## side by side: allocations/s and relayed packets/s with the loss of each, and the ratios (BENCHTURN_FLAGS=...)
bench-turn: deps-bench
	@lab/bench/bench-turn.sh

clean:
	rm -rf bin $(WEBPHONE)/node_modules $(WEBPHONE)/static/vendor/jssip.min.js $(WEBPHONE)/static/vendor/THIRD-PARTY-LICENSES.txt
