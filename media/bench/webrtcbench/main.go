//go:build linux

// Command webrtcbench measures the WebRTC bridge (media/webrtc with
// media/relay) the way issue 12 asks: N concurrent calls, each a browser
// (a pion PeerConnection: ICE, DTLS-SRTP) bridged to a plain RTP endpoint,
// G.711 20 ms both ways (50 packets/s per direction). It drives
// media/webrtc and media/relay directly, as the B2BUA does, without SIP.
//
// The gateway side (one webrtc.Engine on one UDP port, one relay) runs in
// a child process, so its CPU time and memory are its own; the browsers and
// the plain endpoints run in this process and share the two cores with it.
//
//	webrtcbench -calls 200 -duration 10s
//	webrtcbench -search
//
// It reports, per run: loss each way, the gateway's CPU µs per bridged
// packet (both directions), its memory per call (RSS and Go heap), and the
// call setup time (offer → first audio at the browser) p50/p99.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
)

func main() {
	var (
		child    = flag.Bool("child", false, "run the gateway side (internal)")
		calls    = flag.Int("calls", 200, "concurrent calls (one measurement)")
		search   = flag.Bool("search", false, "search the largest number of calls with loss under -max-loss")
		maxLoss  = flag.Float64("max-loss", 0.001, "loss ratio allowed")
		duration = flag.Duration("duration", 10*time.Second, "measurement window per run, after every call is up")
		parallel = flag.Int("setup-parallel", 8, "calls set up at once")
		portMin  = flag.Int("port-min", 30000, "relay port range start")
		portMax  = flag.Int("port-max", 39999, "relay port range end")
		sockets  = flag.Int("plain-sockets", 16, "sockets of the plain RTP endpoints")
		from     = flag.Int("from", 100, "-search: first N")
		maxN     = flag.Int("max", 2000, "-search: largest N tried")
		profile  = flag.String("gw-profile", "", "write a CPU profile of the gateway side (the window) to this file")
		attach   = flag.Bool("attach", true, "legs hand packets to the relay in process (relay.Side.SetEndpoint); false: through a loopback socket")
		compare  = flag.Bool("compare", false, "-calls N on the slow path (pion carries every SRTP packet: the anchor), then on the fast path, side by side, and the ratio")
		slow     = flag.Bool("slow", false, "the gateway side on the slow path (webrtc.Config.SlowPath: the design before srtpmux)")
		gwCPUs   = flag.String("gw-cpus", "", "pin the gateway side to these CPUs (taskset -c LIST), e.g. 1")
		slowGen  = flag.Bool("slow-browsers", false, "browsers send and receive through pion (as before srtpmux) instead of their own fast path")
		base     = flag.String("base", "", "-compare: also run the gateway side of this webrtcbench binary (built from an older commit: its fast path is the second anchor)")
		genProf  = flag.String("gen-profile", "", "write a CPU profile of this process (the browsers and plain endpoints) in the window to this file")
		rounds   = flag.Int("rounds", 1, "-compare: rounds, the variants alternated in each")
		readers  = flag.Int("ice-readers", 0, "sockets sharing the gateway's ICE port, each with a reader (webrtc.Config.ICEReaders; 0: its default, GOMAXPROCS); a -base binary ignores it")
	)
	flag.BoolVar(verbose, "v", false, "print the gateway side's counters of each window")
	flag.Parse()
	if *child {
		if err := runChild(*portMin, *portMax, *profile, *attach, *slow); err != nil {
			fmt.Fprintln(os.Stderr, "webrtcbench child:", err)
			os.Exit(1)
		}
		return
	}
	var childEnv []string
	if *readers > 0 {
		childEnv = []string{fmt.Sprintf("%s=%d", iceReadersEnv, *readers)}
	}
	p := params{childEnv: childEnv, genProfile: *genProf, slow: *slow, gwCPUs: *gwCPUs, slowBrowsers: *slowGen, attach: *attach, profile: *profile, duration: *duration, parallel: *parallel, portMin: *portMin, portMax: *portMax, sockets: *sockets, maxLoss: *maxLoss}
	gen := "fast path (srtpmux, after a real ICE + DTLS handshake in pion)"
	if p.slowBrowsers {
		gen = "pion PeerConnections"
	}
	fmt.Printf("webrtcbench: browsers (pion, DTLS-SRTP, PCMU) <-> media/webrtc <-> media/relay <-> plain RTP, G.711 20 ms both ways, %d CPUs, window %v\n",
		runtime.NumCPU(), p.duration)
	fmt.Printf("gateway side: child process (webrtc.Engine ICE-lite on one UDP port + relay %d-%d)%s; browsers' media: %s; browsers and plain endpoints: this process\n",
		p.portMin, p.portMax, map[bool]string{false: "", true: ", pinned to CPUs " + p.gwCPUs}[p.gwCPUs != ""], gen)
	if *compare {
		compareRuns(*calls, *rounds, *base, p)
		return
	}
	if !*search {
		r, err := run(*calls, p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "webrtcbench:", err)
			os.Exit(1)
		}
		r.print(p.maxLoss)
		return
	}
	// double from -from until a run fails, then bisect
	good, bad := 0, 0
	for n := *from; n <= *maxN; n *= 2 {
		r, err := run(n, p)
		if err != nil {
			fmt.Println("run", n, "error:", err)
			bad = n
			break
		}
		r.print(p.maxLoss)
		if !r.pass(p.maxLoss) {
			bad = n
			break
		}
		good = n
	}
	if bad == 0 {
		fmt.Printf("largest N passing: >= %d (the -max)\n", good)
		return
	}
	for bad-good > max(good/8, 25) {
		n := (good + bad) / 2
		r, err := run(n, p)
		if err == nil {
			r.print(p.maxLoss)
		}
		if err != nil || !r.pass(p.maxLoss) {
			bad = n
		} else {
			good = n
		}
	}
	fmt.Printf("largest N passing (loss < %.2f %%, generator on time): %d (failed at %d)\n", 100*p.maxLoss, good, bad)
}
