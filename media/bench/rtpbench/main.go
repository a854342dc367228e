//go:build linux

// Command rtpbench measures the RTP relay (media/relay) the way issue 5 asks:
// N concurrent calls, each a G.711 20 ms stream each way (172-byte RTP
// packets, 50 packets/s per direction), relayed on loopback. It reports the
// relay's packets per second per CPU core (CPU time from getrusage of the
// relay process) and the packet loss, and can search for the largest N with
// less than 0.1 % loss.
//
// The relay runs in a child process (this binary with -child), so its CPU
// time is its own; the generator (the fake phones) runs in the parent and
// shares the machine with it, as a PBX and phones would not.
//
//	rtpbench -calls 2000 -duration 10s
//	rtpbench -search
//
// It needs Linux (sendmmsg, recvmmsg, getrusage).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	var (
		child    = flag.Bool("child", false, "run the relay (internal)")
		calls    = flag.Int("calls", 2000, "concurrent calls (one measurement)")
		search   = flag.Bool("search", false, "search the largest number of calls with loss under -max-loss")
		maxLoss  = flag.Float64("max-loss", 0.001, "loss ratio allowed by -search")
		duration = flag.Duration("duration", 10*time.Second, "measurement time per run (after a 2 s warm-up)")
		sockets  = flag.Int("sockets", 16, "generator sockets per side")
		loops    = flag.Int("gen-loops", runtime.NumCPU(), "generator goroutines, each on its own thread, sending and receiving on its share of the sockets")
		genTick  = flag.Duration("tick", tick, "how often the generator wakes up to send what is due and read what came back (at most 20ms)")
		genNice  = flag.Int("gen-nice", 0, "nice value of the generator's loop threads (0: unchanged; below 0 puts the fake phones before the relay and needs CAP_SYS_NICE)")
		genProcs = flag.Int("gen-procs", 0, "GOMAXPROCS of the generator (0: the Go default)")
		relProcs = flag.Int("relay-procs", 0, "GOMAXPROCS of the relay process (0: the Go default)")
		threads  = flag.Int("relay-threads", 0, "the relay's I/O threads, relay.Config.Threads (media.relay_threads; 0: one per GOMAXPROCS)")
		compare  = flag.Int("compare-threads", 0, "rounds of N calls with 1 and then 2 relay I/O threads, alternated, side by side: packets/s and the ratio (0: off)")
		direct   = flag.Bool("direct", false, "baseline: the phones send to each other on loopback, without the relay (transit and jitter of the generator and the kernel alone)")
		profile  = flag.String("relay-profile", "", "write a CPU profile of the relay process (the measurement window) to this file")
		portMin  = flag.Int("port-min", 10000, "relay port range start")
		portMax  = flag.Int("port-max", 29999, "relay port range end")
		genA     = flag.String("gen-a", "", "generator addresses of the A phones (internal)")
		genB     = flag.String("gen-b", "", "generator addresses of the B phones (internal)")
	)
	flag.Parse()
	if *child {
		if *relProcs > 0 {
			runtime.GOMAXPROCS(*relProcs)
		}
		if err := runChild(*calls, *portMin, *portMax, *threads, parseAddrs(*genA), parseAddrs(*genB), *profile); err != nil {
			fmt.Fprintln(os.Stderr, "rtpbench child:", err)
			os.Exit(1)
		}
		return
	}
	if *genProcs > 0 {
		runtime.GOMAXPROCS(*genProcs)
	}
	if *genTick <= 0 || *genTick > period {
		fmt.Fprintln(os.Stderr, "rtpbench: -tick must be in (0, 20ms]")
		os.Exit(2)
	}
	tick = *genTick
	p := params{sockets: *sockets, loops: *loops, nice: *genNice, portMin: *portMin, portMax: *portMax, duration: *duration,
		relayProcs: *relProcs, threads: *threads, direct: *direct, profile: *profile}
	relayP := fmt.Sprintf("%d (Go default)", runtime.NumCPU())
	if *relProcs > 0 {
		relayP = strconv.Itoa(*relProcs)
	}
	relayT := "one per GOMAXPROCS"
	if *threads > 0 {
		relayT = strconv.Itoa(*threads)
	}
	fmt.Printf("rtpbench: G.711 20 ms (172-byte RTP, 50 pps per direction), %d CPUs, %v per run\n", numCPU(), p.duration)
	fmt.Printf("relay: child process, GOMAXPROCS %s, %s, I/O threads %s; generator: GOMAXPROCS %d, %d loop thread(s) at nice %d, %d sockets per side, sendmmsg/recvmmsg every %v\n",
		relayP, relayEngine, relayT, runtime.GOMAXPROCS(0), p.loops, p.nice, p.sockets, tick)
	if p.direct {
		fmt.Println("DIRECT baseline: no relay, the phones send to each other")
	}
	if *compare > 0 {
		if err := compareThreads(p, *calls, *compare); err != nil {
			fmt.Fprintln(os.Stderr, "rtpbench:", err)
			os.Exit(1)
		}
		return
	}
	if !*search {
		r, err := run(p, *calls)
		if err != nil {
			fmt.Fprintln(os.Stderr, "rtpbench:", err)
			os.Exit(1)
		}
		r.print()
		return
	}
	best, err := searchMax(p, *maxLoss)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rtpbench:", err)
		os.Exit(1)
	}
	fmt.Printf("largest N with loss < %.2f%% (and the generator on time for %.0f%% of the packets): %d calls\n",
		*maxLoss*100, 100*(1-maxShortfall), best.calls)
	best.print()
}

// searchMax doubles N until loss reaches the limit, then bisects.
func searchMax(p params, maxLoss float64) (result, error) {
	var best result
	lo, hi := 0, 0
	limit := (p.portMax - p.portMin + 1) / 4
	for n := 500; ; n *= 2 {
		if n > limit {
			n = limit
		}
		r, err := run(p, n)
		if err != nil {
			return best, err
		}
		r.printShort()
		if !r.ok(maxLoss) {
			hi = n
			break
		}
		best, lo = r, n
		if n == limit {
			return best, nil
		}
	}
	for hi-lo > max(50, lo/20) {
		n := (lo + hi) / 2
		r, err := run(p, n)
		if err != nil {
			return best, err
		}
		r.printShort()
		if !r.ok(maxLoss) {
			hi = n
		} else {
			best, lo = r, n
		}
	}
	return best, nil
}

type params struct {
	sockets, loops   int
	nice             int
	portMin, portMax int
	duration         time.Duration
	relayProcs       int
	threads          int  // relay I/O threads (0: default)
	direct           bool // no relay: the baseline
	profile          string
}

// usage is what the child reports: its CPU time and the relay's counters.
type usage struct {
	CPU       time.Duration // user + system
	Received  uint64        // RTP packets accepted by the relay
	Forwarded uint64
	Ignored   uint64
	Dropped   uint64
}

type result struct {
	calls              int
	window             time.Duration
	relayCPU, genCPU   time.Duration
	forwarded          uint64 // by the relay during the window
	sent, received     uint64 // by the generator, whole run
	skipped            uint64 // packets the generator was too late to send
	offered            uint64 // sent by the generator during the window
	relayIn, relayDrop uint64
	rcvbufErrors       uint64 // UDP receive buffer overflows on the machine during the run
	lat                latencyReport
	direct             bool
}

func (r result) loss() float64 {
	if r.sent == 0 {
		return 1
	}
	return float64(r.sent-min(r.received, r.sent)) / float64(r.sent)
}

// shortfall is the share of the nominal packets the generator was too late
// to send: above 1 %, the machine cannot offer N calls and the run fails.
func (r result) shortfall() float64 {
	if r.sent+r.skipped == 0 {
		return 1
	}
	return float64(r.skipped) / float64(r.sent+r.skipped)
}

// ok is the search criterion.
func (r result) ok(maxLoss float64) bool { return r.loss() < maxLoss && r.shortfall() < maxShortfall }

const maxShortfall = 0.01

func (r result) pps() float64 { return float64(r.forwarded) / r.window.Seconds() }

func (r result) ppsPerCore() float64 {
	if r.relayCPU <= 0 {
		return 0
	}
	return float64(r.forwarded) / r.relayCPU.Seconds()
}

func (r result) printShort() {
	fmt.Printf("  N=%5d  relayed %7.0f pkt/s  relay CPU %4.0f%%  %7.0f pkt/s per core  loss %.4f%%  not sent (late) %.2f%%  transit p50/p99 %v/%v  streams with loss %d, worst %.3f%%\n",
		r.calls, r.pps(), 100*r.relayCPU.Seconds()/r.window.Seconds(), r.ppsPerCore(), 100*r.loss(), 100*r.shortfall(),
		r.lat.transit50, r.lat.transit99, r.lat.lossy, 100*r.lat.worstLoss)
}

func (r result) print() {
	fmt.Printf("calls:                 %d (%d streams, %d packets/s offered)\n", r.calls, 2*r.calls, 100*r.calls)
	fmt.Printf("sent in window:        %.0f packets/s (generator too late for %.2f%% of the packets)\n", float64(r.offered)/r.window.Seconds(), 100*r.shortfall())
	fmt.Printf("relayed:               %.0f packets/s\n", r.pps())
	fmt.Printf("relay CPU:             %.2f cores (%v in %v)\n", r.relayCPU.Seconds()/r.window.Seconds(), r.relayCPU.Round(time.Millisecond), r.window.Round(time.Millisecond))
	fmt.Printf("relay packets/s/core:  %.0f\n", r.ppsPerCore())
	fmt.Printf("generator CPU:         %.2f cores\n", r.genCPU.Seconds()/r.window.Seconds())
	fmt.Printf("loss end to end:       %.4f%% (%d sent, %d received)\n", 100*r.loss(), r.sent, r.received)
	fmt.Printf("relay in/not relayed:  %d / %d\n", r.relayIn, r.relayDrop)
	fmt.Printf("UDP rcvbuf overflows:  %d (whole machine, during the run)\n", r.rcvbufErrors)
	label := "relayed"
	if r.direct {
		label = "direct"
	}
	r.lat.print(label)
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\nprocessor") + 1
}

// udpRcvbufErrors is RcvbufErrors of /proc/net/snmp: datagrams the kernel
// dropped because a socket's receive buffer was full (any process).
func udpRcvbufErrors() uint64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "RcvbufErrors" && i < len(f) {
				v, _ := strconv.ParseUint(f[i], 10, 64)
				return v
			}
		}
	}
	return 0
}

func rusage() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func parseAddrs(s string) []netip.AddrPort {
	var out []netip.AddrPort
	for _, f := range strings.Split(s, ",") {
		if f != "" {
			out = append(out, netip.MustParseAddrPort(f))
		}
	}
	return out
}

func joinAddrs(addrs []netip.AddrPort) string {
	parts := make([]string, len(addrs))
	for i, a := range addrs {
		parts[i] = a.String()
	}
	return strings.Join(parts, ",")
}

// run measures one N.
func run(p params, calls int) (result, error) {
	g, err := newGenerator(p.sockets, p.loops, p.nice)
	if err != nil {
		return result{}, err
	}
	defer g.close()

	if p.direct {
		return runDirect(p, g, calls)
	}
	self, err := os.Executable()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(self, "-child", "-calls", strconv.Itoa(calls),
		"-port-min", strconv.Itoa(p.portMin), "-port-max", strconv.Itoa(p.portMax),
		"-relay-procs", strconv.Itoa(p.relayProcs), "-relay-threads", strconv.Itoa(p.threads), "-relay-profile", p.profile,
		"-gen-a", joinAddrs(g.addrs(0)), "-gen-b", joinAddrs(g.addrs(1)))
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	out := bufio.NewScanner(stdout)
	out.Buffer(make([]byte, 1<<20), 16<<20)
	if !out.Scan() {
		return result{}, fmt.Errorf("child gave no ports: %v", out.Err())
	}
	var ports [][2]int
	if err := json.Unmarshal(out.Bytes(), &ports); err != nil {
		return result{}, fmt.Errorf("child ports: %v", err)
	}
	ask := func() (usage, error) {
		var u usage
		if _, err := fmt.Fprintln(stdin, "usage"); err != nil {
			return u, err
		}
		if !out.Scan() {
			return u, fmt.Errorf("child: %v", out.Err())
		}
		return u, json.Unmarshal(out.Bytes(), &u)
	}

	rcvbuf0 := udpRcvbufErrors()
	g.start(ports)
	time.Sleep(2 * time.Second) // warm-up: latching, goroutine stacks, caches
	u0, err := ask()
	if err != nil {
		return result{}, err
	}
	gen0, t0, sent0 := rusage(), time.Now(), g.sent.Load()
	time.Sleep(p.duration)
	u1, err := ask()
	if err != nil {
		return result{}, err
	}
	gen1, t1, sent1 := rusage(), time.Now(), g.sent.Load()
	g.stop()
	time.Sleep(500 * time.Millisecond) // drain
	u2, err := ask()
	if err != nil {
		return result{}, err
	}
	g.close()
	sent, received, skipped := g.counts()
	return result{
		calls:        calls,
		window:       t1.Sub(t0),
		relayCPU:     u1.CPU - u0.CPU,
		genCPU:       gen1 - gen0,
		forwarded:    u1.Forwarded - u0.Forwarded,
		sent:         sent,
		received:     received,
		skipped:      skipped,
		offered:      sent1 - sent0,
		relayIn:      u2.Received,
		relayDrop:    u2.Dropped + u2.Ignored,
		rcvbufErrors: udpRcvbufErrors() - rcvbuf0,
		lat:          g.lat.report(),
	}, nil
}

// runDirect is the baseline: call i's A phone sends to its B phone's
// socket and back, on loopback, with no relay, so the transit and jitter
// of the generator and the kernel alone are measured the same way.
func runDirect(p params, g *generator, calls int) (result, error) {
	a, b := g.addrs(0), g.addrs(1)
	ports := make([][2]int, calls)
	for i := range ports {
		ports[i] = [2]int{int(b[i%len(b)].Port()), int(a[i%len(a)].Port())}
	}
	rcvbuf0 := udpRcvbufErrors()
	g.start(ports)
	time.Sleep(2 * time.Second)
	gen0, t0, sent0 := rusage(), time.Now(), g.sent.Load()
	time.Sleep(p.duration)
	gen1, t1, sent1 := rusage(), time.Now(), g.sent.Load()
	g.stop()
	time.Sleep(500 * time.Millisecond)
	g.close()
	sent, received, skipped := g.counts()
	return result{
		calls: calls, window: t1.Sub(t0), genCPU: gen1 - gen0,
		sent: sent, received: received, skipped: skipped, offered: sent1 - sent0,
		rcvbufErrors: udpRcvbufErrors() - rcvbuf0,
		lat:          g.lat.report(), direct: true,
	}, nil
}

// compareThreads runs N calls with 1 and 2 relay I/O threads in alternated
// rounds (the machine's other load hits both alike) and prints each run,
// then min/median/max of the relayed packets/s of each and of the ratio
// 2 threads / 1 thread per round.
func compareThreads(p params, calls, rounds int) error {
	var pps [2][]float64
	var ratio []float64
	for i := range rounds {
		for th := 1; th <= 2; th++ {
			p.threads = th
			r, err := run(p, calls)
			if err != nil {
				return err
			}
			fmt.Printf("round %d, %d thread(s):", i+1, th)
			r.printShort()
			pps[th-1] = append(pps[th-1], r.pps())
		}
		ratio = append(ratio, pps[1][i]/pps[0][i])
	}
	mmm := func(v []float64) (lo, med, hi float64) {
		s := append([]float64(nil), v...)
		sort.Float64s(s)
		return s[0], s[len(s)/2], s[len(s)-1]
	}
	for th := range 2 {
		lo, med, hi := mmm(pps[th])
		fmt.Printf("%d relay thread(s), N=%d: relayed packets/s min %.0f, median %.0f, max %.0f\n", th+1, calls, lo, med, hi)
	}
	lo, med, hi := mmm(ratio)
	fmt.Printf("ratio 2 threads / 1 thread per round: min %.2f, median %.2f, max %.2f\n", lo, med, hi)
	return nil
}
