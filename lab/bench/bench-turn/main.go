// Command bench-turn measures Switchboard's TURN server (media/turn)
// against coturn under the same client load, side by side in one run:
// allocations per second (Allocate with REST credentials, then Refresh
// lifetime 0) and relayed packets per second (ChannelData through a relay
// to an echo peer and back), with the loss of each, and prints the ratios.
//
// Both servers run as their own processes on 127.0.0.1 with the same
// secret and realm: ours as "bench-turn -serve", coturn as turnserver.
// Rounds alternate between them so drift in the machine's load hits both.
//
//	make bench-turn
//	BENCHTURN_FLAGS="-duration 10s -steps 100,200,300 -rounds 3" make bench-turn
//
// The relay phase drives allocations by hand (Allocate, ChannelBind, then
// ChannelData at -pps each to its own echo peer) in steps of more
// allocations; each server's figure is the most relayed packets/s it
// carried with less than 1 % loss.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/stun/v4"

	"github.com/switchboard-gw/switchboard/media/turn"
)

const (
	realm  = "bench.turn"
	secret = "bench-turn-shared-secret"
)

func main() {
	serve := flag.String("serve", "", "run our TURN server on this UDP address (used by the benchmark itself)")
	duration := flag.Duration("duration", 8*time.Second, "length of each measurement")
	clients := flag.Int("clients", 32, "concurrent clients in the allocation phase")
	stepsFlag := flag.String("steps", "50,100,150,200,300,400", "relaying allocations per step of the packet phase, comma-separated")
	pps := flag.Int("pps", 50, "packets per second each relaying allocation sends (G.711 at 20 ms is 50)")
	size := flag.Int("size", 172, "payload bytes per relayed packet (G.711 20 ms RTP is 172)")
	rounds := flag.Int("rounds", 2, "rounds per server, alternated")
	coturnBin := flag.String("coturn", "turnserver", "coturn's turnserver binary")
	cpuProfile := flag.String("cpuprofile", "", "with -serve: write our server's CPU profile here")
	flag.Parse()
	if *serve != "" {
		if *cpuProfile != "" {
			f, err := os.Create(*cpuProfile)
			if err == nil && pprof.StartCPUProfile(f) == nil {
				defer pprof.StopCPUProfile()
			}
		}
		if err := runServer(*serve); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1) //nolint:gocritic // the profile of a failed start is of no use
		}
		return
	}
	var steps []int
	for _, f := range strings.Split(*stepsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 16000 {
			fmt.Fprintln(os.Stderr, "bench-turn: -steps: want numbers from 1 to 16000")
			os.Exit(2)
		}
		steps = append(steps, n)
	}
	if err := run(*duration, *clients, steps, *pps, *size, *rounds, *coturnBin); err != nil {
		fmt.Fprintln(os.Stderr, "bench-turn:", err)
		os.Exit(1)
	}
}

// runServer is the child process: our server with no quotas, caps or rate
// limits (coturn's defaults have none either), peers on loopback allowed.
func runServer(addr string) error {
	s, err := turn.New(turn.Options{Listen: []string{"udp://" + addr}, Realm: realm, Secret: secret,
		RelayAddress: netip.MustParseAddr("127.0.0.1"), RelayBind: netip.MustParseAddr("127.0.0.1"),
		AllowPeers: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := s.Start(ctx); err != nil {
		return err
	}
	fmt.Println("ready")
	<-ctx.Done()
	return s.Close()
}

type server struct {
	name string
	addr string
	cmd  *exec.Cmd
}

func freePort() int {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

func startOurs() (*server, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(freePort())
	args := []string{"-serve", addr}
	if p := os.Getenv("BENCHTURN_CPUPROFILE"); p != "" {
		args = append(args, "-cpuprofile", p)
	}
	cmd := exec.Command(self, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("our server did not start: %q %v", line, err)
	}
	return &server{name: "switchboard", addr: addr, cmd: cmd}, nil
}

func startCoturn(bin string) (*server, error) {
	port := freePort()
	// a range as wide as the ephemeral ports ours takes relays from, below
	// them: the allocation loop deallocates thousands a second
	minPort, maxPort := 10000, 32000
	cmd := exec.Command(bin, "-n", "--listening-ip=127.0.0.1", "--listening-port="+strconv.Itoa(port),
		"--relay-ip=127.0.0.1", "--min-port="+strconv.Itoa(minPort), "--max-port="+strconv.Itoa(maxPort),
		"--use-auth-secret", "--static-auth-secret="+secret, "--realm="+realm, "--no-tls", "--no-dtls", "--no-tcp",
		"--no-cli", "--allow-loopback-peers", "--no-multicast-peers", "--log-file=stdout", "--simple-log",
		"--no-rfc5780", "--no-stun-backward-compatibility", "--pidfile=/dev/null")
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start coturn (%s): %w", bin, err)
	}
	s := &server{name: "coturn", addr: "127.0.0.1:" + strconv.Itoa(port), cmd: cmd}
	for range 100 { // until it answers a Binding
		if ping(s.addr) {
			return s, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.stop()
	return nil, fmt.Errorf("coturn on %s did not answer", s.addr)
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

func ping(addr string) bool {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	m := stun.MustBuild(stun.TransactionID, stun.BindingRequest)
	_, _ = c.Write(m.Raw)
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, err = c.Read(make([]byte, 1500))
	return err == nil
}

type relayStep struct {
	allocs     int
	sent, recv int64
	setupFail  int
	rate       float64 // relayed packets/s: each echoed packet crossed the server twice
}

func (r relayStep) loss() float64 { return loss(r.sent, r.recv) }

// maxLoss is the loss up to which a relay step counts as carried.
const maxLoss = 1.0

func run(d time.Duration, clients int, steps []int, pps, size, rounds int, coturnBin string) error {
	ours, err := startOurs()
	if err != nil {
		return err
	}
	defer ours.stop()
	co, err := startCoturn(coturnBin)
	if err != nil {
		return err
	}
	defer co.stop()
	fmt.Printf("bench-turn: %d rounds of %s per server; allocations: %d clients in a loop; relay: %v allocations x %d pps x %d bytes, echoed\n",
		rounds, d, clients, steps, pps, size)
	names := []string{"switchboard", "coturn"}
	allocOK := map[string]int64{}
	allocFail := map[string]int64{}
	best := map[string]relayStep{} // the largest step carried with < maxLoss, best round
	for r := range rounds {
		order := []*server{ours, co}
		if r%2 == 1 {
			order = []*server{co, ours}
		}
		for _, s := range order {
			ok, fail, why := allocPhase(s.addr, clients, d)
			allocOK[s.name] += ok
			allocFail[s.name] += fail
			fmt.Printf("round %d %-11s allocations %8.1f/s (failed %d", r+1, s.name, float64(ok)/d.Seconds(), fail)
			for w, n := range why {
				fmt.Printf("; %s: %d", w, n)
			}
			fmt.Println(")")
		}
		for _, n := range steps {
			for _, s := range order {
				sent, recv, setupFail, err := relayPhase(s.addr, n, pps, size, d)
				if err != nil {
					return fmt.Errorf("%s: %w", s.name, err)
				}
				st := relayStep{allocs: n, sent: sent, recv: recv, setupFail: setupFail, rate: float64(recv) * 2 / d.Seconds()}
				fmt.Printf("round %d %-11s relay %5d allocations: %9.1f pkt/s relayed, loss %6.3f%% (sent %d, echoed %d, not set up %d)\n",
					r+1, s.name, n, st.rate, st.loss(), sent, recv, setupFail)
				if st.loss() < maxLoss && setupFail == 0 && st.rate > best[s.name].rate {
					best[s.name] = st
				}
			}
		}
	}
	secs := d.Seconds() * float64(rounds)
	fmt.Println()
	fmt.Printf("%-11s %14s %10s   %s\n", "server", "allocations/s", "alloc loss", "relay: most relayed pkt/s with < 1% loss (at allocations, loss)")
	for _, n := range names {
		b := best[n]
		fmt.Printf("%-11s %14.1f %9.3f%%   %9.1f (%d, %.3f%%)\n", n, float64(allocOK[n])/secs,
			loss(allocOK[n]+allocFail[n], allocOK[n]), b.rate, b.allocs, b.loss())
	}
	ar := float64(allocOK["switchboard"]) / float64(max(allocOK["coturn"], 1))
	rr := best["switchboard"].rate / max(best["coturn"].rate, 1)
	fmt.Printf("ratio switchboard/coturn: allocations/s %.2fx, relayed packets/s %.2fx (goal >= 1.0x on both)\n", ar, rr)
	if best["switchboard"].allocs == steps[len(steps)-1] && best["coturn"].allocs == steps[len(steps)-1] {
		fmt.Println("both carried the largest step: the relay ratio is the offered load's; add a larger -steps value")
	}
	return nil
}

func loss(sent, got int64) float64 {
	if sent == 0 {
		return 0
	}
	return 100 * float64(sent-got) / float64(sent)
}

// allocPhase runs clients loops of Allocate (the 401 round trip, then the
// authenticated one) and Refresh lifetime 0 for d.
func allocPhase(addr string, clients int, d time.Duration) (ok, fail int64, why map[string]int) {
	var okN, failN atomic.Int64
	why = map[string]int{}
	var mu sync.Mutex
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := "bench" + strconv.Itoa(i)
			// Each attempt from another loopback address: a new socket
			// soon gets a port the kernel just freed, and coturn answers
			// 437 (Allocation Mismatch) to a 5-tuple it deallocated a
			// moment ago, which would count against it for no fault of
			// the allocation path being measured.
			for seq := 0; time.Now().Before(deadline); seq++ {
				local := &net.UDPAddr{IP: net.IPv4(127, 10+byte(i/250), byte(i%250), byte(1+seq%250))}
				if w := allocateOnce(addr, user, local); w == "" {
					okN.Add(1)
				} else {
					failN.Add(1)
					mu.Lock()
					why[w]++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return okN.Load(), failN.Load(), why
}

var transportUDP = stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}

// allocateOnce allocates and deallocates once; "" on success, else what
// failed (the step and a timeout or the error code).
func allocateOnce(addr, user string, local *net.UDPAddr) string {
	raddr, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return "resolve"
	}
	c, err := net.DialUDP("udp4", local, raddr)
	if err != nil {
		return "dial"
	}
	defer c.Close()
	buf := make([]byte, 1500)
	rt := func(step string, m *stun.Message) (*stun.Message, string) {
		if _, err := c.Write(m.Raw); err != nil {
			return nil, step + ": send"
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		n, err := c.Read(buf)
		if err != nil {
			return nil, step + ": no answer in 1s"
		}
		res := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if res.Decode() != nil || res.TransactionID != m.TransactionID {
			return nil, step + ": bad answer"
		}
		if res.Type.Class == stun.ClassErrorResponse && step != "challenge" {
			var ec stun.ErrorCodeAttribute
			_ = ec.GetFrom(res)
			return nil, step + ": " + strconv.Itoa(int(ec.Code))
		}
		return res, ""
	}
	res, why := rt("challenge", stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), transportUDP))
	var nonce stun.Nonce
	var rlm stun.Realm
	if res == nil {
		return why
	}
	if nonce.GetFrom(res) != nil || rlm.GetFrom(res) != nil {
		var ec stun.ErrorCodeAttribute
		_ = ec.GetFrom(res)
		return "challenge: " + strconv.Itoa(int(ec.Code)) + " without a nonce"
	}
	username, password := turn.RESTCredentials(secret, user, time.Now().Add(time.Hour))
	auth := []stun.Setter{stun.NewUsername(username), rlm, nonce, stun.NewLongTermIntegrity(username, rlm.String(), password), stun.Fingerprint}
	if _, why := rt("allocate", stun.MustBuild(append([]stun.Setter{stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), transportUDP}, auth...)...)); why != "" {
		return why
	}
	_, why = rt("refresh 0", stun.MustBuild(append([]stun.Setter{stun.TransactionID, stun.NewType(stun.MethodRefresh, stun.ClassRequest), stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 0, 0}}}, auth...)...))
	return why
}
