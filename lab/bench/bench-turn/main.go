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
//	BENCHTURN_FLAGS="-duration 15s -allocs 400 -rounds 3" make bench-turn
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
	pturn "github.com/pion/turn/v5"

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
	allocs := flag.Int("allocs", 300, "allocations relaying in the packet phase")
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
	if err := run(*duration, *clients, *allocs, *pps, *size, *rounds, *coturnBin); err != nil {
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
	minPort := 20000 + port%20000
	cmd := exec.Command(bin, "-n", "--listening-ip=127.0.0.1", "--listening-port="+strconv.Itoa(port),
		"--relay-ip=127.0.0.1", "--min-port="+strconv.Itoa(minPort), "--max-port="+strconv.Itoa(minPort+4999),
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

type result struct {
	allocOK, allocFail int64
	allocRate          float64
	sent, recv         int64
	relayRate          float64
	setupFail          int
}

func run(d time.Duration, clients, allocs, pps, size, rounds int, coturnBin string) error {
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
	fmt.Printf("bench-turn: %d rounds of %s per server; allocations: %d clients in a loop; relay: %d allocations x %d pps x %d bytes, echoed\n",
		rounds, d, clients, allocs, pps, size)
	total := map[string]*result{"switchboard": {}, "coturn": {}}
	for r := range rounds {
		order := []*server{ours, co}
		if r%2 == 1 {
			order = []*server{co, ours}
		}
		for _, s := range order {
			ok, fail := allocPhase(s.addr, clients, d)
			sent, recv, setupFail, err := relayPhase(s.addr, allocs, pps, size, d)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			t := total[s.name]
			t.allocOK += ok
			t.allocFail += fail
			t.sent += sent
			t.recv += recv
			t.setupFail += setupFail
			fmt.Printf("round %d %-11s allocations %8.1f/s (failed %d)   relayed %8.1f pkt/s, loss %.3f%% (sent %d, echoed %d, relays not set up %d)\n",
				r+1, s.name, float64(ok)/d.Seconds(), fail, float64(recv)*2/d.Seconds(), loss(sent, recv), sent, recv, setupFail)
		}
	}
	secs := d.Seconds() * float64(rounds)
	for _, t := range total {
		t.allocRate = float64(t.allocOK) / secs
		t.relayRate = float64(t.recv) * 2 / secs // each echoed packet crossed the relay twice
	}
	o, c := total["switchboard"], total["coturn"]
	fmt.Println()
	fmt.Printf("%-11s %14s %10s %16s %10s\n", "server", "allocations/s", "alloc loss", "relayed pkt/s", "relay loss")
	for _, n := range []string{"switchboard", "coturn"} {
		t := total[n]
		fmt.Printf("%-11s %14.1f %9.3f%% %16.1f %9.3f%%\n", n, t.allocRate, loss(t.allocOK+t.allocFail, t.allocOK), t.relayRate, loss(t.sent, t.recv))
	}
	fmt.Printf("ratio switchboard/coturn: allocations/s %.2fx, relayed packets/s %.2fx (goal >= 1.0x on both)\n",
		o.allocRate/c.allocRate, o.relayRate/c.relayRate)
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
func allocPhase(addr string, clients int, d time.Duration) (ok, fail int64) {
	var okN, failN atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := "bench" + strconv.Itoa(i)
			for time.Now().Before(deadline) {
				if allocateOnce(addr, user) {
					okN.Add(1)
				} else {
					failN.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return okN.Load(), failN.Load()
}

var transportUDP = stun.RawAttribute{Type: stun.AttrRequestedTransport, Value: []byte{17, 0, 0, 0}}

func allocateOnce(addr, user string) bool {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	buf := make([]byte, 1500)
	rt := func(m *stun.Message) *stun.Message {
		if _, err := c.Write(m.Raw); err != nil {
			return nil
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		n, err := c.Read(buf)
		if err != nil {
			return nil
		}
		res := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if res.Decode() != nil || res.TransactionID != m.TransactionID {
			return nil
		}
		return res
	}
	res := rt(stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), transportUDP))
	var nonce stun.Nonce
	var rlm stun.Realm
	if res == nil || nonce.GetFrom(res) != nil || rlm.GetFrom(res) != nil {
		return false
	}
	username, password := turn.RESTCredentials(secret, user, time.Now().Add(time.Hour))
	auth := []stun.Setter{stun.NewUsername(username), rlm, nonce, stun.NewLongTermIntegrity(username, rlm.String(), password), stun.Fingerprint}
	res = rt(stun.MustBuild(append([]stun.Setter{stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), transportUDP}, auth...)...))
	if res == nil || res.Type.Class != stun.ClassSuccessResponse {
		return false
	}
	res = rt(stun.MustBuild(append([]stun.Setter{stun.TransactionID, stun.NewType(stun.MethodRefresh, stun.ClassRequest), stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 0, 0}}}, auth...)...))
	return res != nil && res.Type.Class == stun.ClassSuccessResponse
}

// relayPhase sets up n allocations (pion clients: permission and channel
// bound on first send), each sending pps packets a second to its own echo
// peer for d, and counts what comes back.
func relayPhase(addr string, n, pps, size int, d time.Duration) (sent, recv int64, setupFail int, err error) {
	type leg struct {
		c     *pturn.Client
		conn  net.PacketConn
		relay net.PacketConn
		peer  net.PacketConn
	}
	legs := make([]*leg, 0, n)
	defer func() {
		for _, l := range legs {
			if l.relay != nil {
				_ = l.relay.Close()
			}
			l.c.Close()
			_ = l.conn.Close()
			_ = l.peer.Close()
		}
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
			if err != nil {
				return
			}
			peer, err := net.ListenPacket("udp4", "127.0.0.2:0")
			if err != nil {
				_ = conn.Close()
				return
			}
			username, password := turn.RESTCredentials(secret, "relay"+strconv.Itoa(i), time.Now().Add(time.Hour))
			c, err := pturn.NewClient(&pturn.ClientConfig{STUNServerAddr: addr, TURNServerAddr: addr, Username: username,
				Password: password, Realm: realm, Conn: conn})
			l := &leg{c: c, conn: conn, peer: peer}
			if err != nil {
				_ = conn.Close()
				_ = peer.Close()
				return
			}
			mu.Lock()
			legs = append(legs, l)
			mu.Unlock()
			if c.Listen() != nil {
				return
			}
			if l.relay, err = c.Allocate(); err != nil {
				l.relay = nil
			}
		}()
	}
	wg.Wait()
	var sentN, recvN atomic.Int64
	stop := make(chan struct{})
	var rw sync.WaitGroup
	payload := make([]byte, size)
	for _, l := range legs {
		if l.relay == nil {
			setupFail++
			continue
		}
		// the peer echoes to wherever the packet came from (the relay)
		rw.Add(2)
		go func() {
			defer rw.Done()
			buf := make([]byte, 2048)
			for {
				k, from, err := l.peer.ReadFrom(buf)
				if err != nil {
					return
				}
				_, _ = l.peer.WriteTo(buf[:k], from)
			}
		}()
		go func() {
			defer rw.Done()
			buf := make([]byte, 2048)
			for {
				if _, _, err := l.relay.ReadFrom(buf); err != nil {
					return
				}
				recvN.Add(1)
			}
		}()
		// one warm-up packet binds the permission and channel
		_, _ = l.relay.WriteTo(payload, l.peer.LocalAddr())
	}
	time.Sleep(500 * time.Millisecond)
	recvN.Store(0)
	var sw sync.WaitGroup
	for _, l := range legs {
		if l.relay == nil {
			continue
		}
		sw.Add(1)
		go func() {
			defer sw.Done()
			tick := time.NewTicker(time.Second / time.Duration(pps))
			defer tick.Stop()
			end := time.After(d)
			for {
				select {
				case <-end:
					return
				case <-tick.C:
					if _, err := l.relay.WriteTo(payload, l.peer.LocalAddr()); err == nil {
						sentN.Add(1)
					}
				}
			}
		}()
	}
	sw.Wait()
	time.Sleep(500 * time.Millisecond) // stragglers
	close(stop)
	got := recvN.Load()
	for _, l := range legs {
		if l.relay != nil {
			_ = l.relay.SetReadDeadline(time.Now())
		}
		_ = l.peer.SetReadDeadline(time.Now())
	}
	rw.Wait()
	return sentN.Load(), got, setupFail, nil
}
