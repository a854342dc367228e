//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"golang.org/x/sys/unix"

	"github.com/switchboard-gw/switchboard/media/udpbatch"
	"github.com/switchboard-gw/switchboard/media/webrtc/srtpmux"
)

var verbose = new(bool)

type params struct {
	duration         time.Duration
	parallel         int
	portMin, portMax int
	sockets          int
	maxLoss          float64
	profile          string
	attach           bool
	slow             bool     // the gateway on its slow path (the anchor)
	gwCPUs           string   // taskset -c list for the gateway side
	childExe         string   // the gateway side's binary ("": this one)
	childEnv         []string // added to the gateway side's environment
	genProfile       string   // CPU profile of this process in the window
	slowBrowsers     bool     // browsers' media through pion
}

// result is one run's figures.
type result struct {
	n, failed        int
	window           time.Duration
	sentB, recvP     uint64 // browser → plain: sent by the browsers, received by the plain endpoints
	sentP, recvB     uint64 // plain → browser
	nominal          uint64 // per direction in the window
	gwCPU, genCPU    time.Duration
	bridged          uint64 // packets the legs passed, both ways, in the window
	rssCall, heapCal float64
	goroutines       int
	goroutines0      int    // of the empty gateway side
	overflows        uint64 // UDP receive buffer overflows of the whole machine in the window
	setup            []time.Duration
}

func loss(sent, recv uint64) float64 {
	if sent == 0 {
		return 1
	}
	if recv >= sent {
		return 0
	}
	return 1 - float64(recv)/float64(sent)
}

func (r result) pass(maxLoss float64) bool {
	onTime := float64(r.sentB) >= 0.99*float64(r.nominal) && float64(r.sentP) >= 0.99*float64(r.nominal)
	return r.failed == 0 && onTime && !r.behind() && loss(r.sentB, r.recvP) < maxLoss && loss(r.sentP, r.recvB) < maxLoss
}

// behind reports a backlog: more than 3 % more packets received in the
// window than sent in it means packets sent before the window were still
// queued (in the gateway's socket buffers) when it opened: the gateway
// side is not keeping up, even if nothing was lost yet.
func (r result) behind() bool {
	return float64(r.recvP) > 1.03*float64(r.sentB) || float64(r.recvB) > 1.03*float64(r.sentP)
}

func pct(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func (r result) usPerPacket() float64 {
	if r.bridged == 0 {
		return 0
	}
	return float64(r.gwCPU.Microseconds()) / float64(r.bridged)
}

func (r result) goroutinesPerCall() float64 {
	if up := r.n - r.failed; up > 0 {
		return float64(r.goroutines-r.goroutines0) / float64(up)
	}
	return 0
}

func (r result) print(maxLoss float64) {
	verdict := "FAIL"
	if r.pass(maxLoss) {
		verdict = "pass"
	}
	pps := float64(r.bridged) / r.window.Seconds()
	us := 0.0
	if r.bridged > 0 {
		us = float64(r.gwCPU.Microseconds()) / float64(r.bridged)
	}
	if r.behind() {
		verdict += " (behind: more received than sent in the window, a backlog from before it)"
	}
	fmt.Printf("N=%d %s: loss browser->plain %.3f %% (%d/%d), plain->browser %.3f %% (%d/%d), nominal %d per direction; setup failures %d\n",
		r.n, verdict, 100*loss(r.sentB, r.recvP), r.recvP, r.sentB, 100*loss(r.sentP, r.recvB), r.recvB, r.sentP, r.nominal, r.failed)
	fmt.Printf("  gateway side: %.0f packets/s bridged, CPU %.2f cores = %.1f us per bridged packet (relay + DTLS-SRTP + bridge); %.0f KiB RSS and %.0f KiB Go heap per call; %d goroutines (%.1f per call)\n",
		pps, r.gwCPU.Seconds()/r.window.Seconds(), us, r.rssCall/1024, r.heapCal/1024, r.goroutines, r.goroutinesPerCall())
	fmt.Printf("  UDP receive buffer overflows on the machine during the window: %d\n", r.overflows)
	genPkts := r.sentB + r.recvP + r.sentP + r.recvB
	fmt.Printf("  browsers + plain endpoints (this process): CPU %.2f cores = %.1f us per packet sent or received; call setup (offer -> first audio at the browser) p50 %v p99 %v max %v\n",
		r.genCPU.Seconds()/r.window.Seconds(), float64(r.genCPU.Microseconds())/float64(max(genPkts, 1)), pct(r.setup, 0.5).Round(time.Millisecond), pct(r.setup, 0.99).Round(time.Millisecond), pct(r.setup, 1).Round(time.Millisecond))
}

// gateway is the child process and its request/reply pipe.
type gateway struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	mu  sync.Mutex
	wmu sync.Mutex
	res map[int]chan reply
}

func startGateway(p params) (*gateway, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if p.childExe != "" {
		exe = p.childExe
	}
	args := []string{"-child", "-port-min", strconv.Itoa(p.portMin), "-port-max", strconv.Itoa(p.portMax), "-gw-profile", p.profile,
		"-attach=" + strconv.FormatBool(p.attach), "-slow=" + strconv.FormatBool(p.slow)}
	cmd := exec.Command(exe, args...)
	if p.gwCPUs != "" {
		cmd = exec.Command("taskset", append([]string{"-c", p.gwCPUs, exe}, args...)...)
	}
	if len(p.childEnv) > 0 {
		cmd.Env = append(os.Environ(), p.childEnv...)
	}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	g := &gateway{cmd: cmd, in: in, res: map[int]chan reply{}}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var r reply
			if json.Unmarshal(sc.Bytes(), &r) != nil {
				continue
			}
			g.mu.Lock()
			ch := g.res[r.ID]
			delete(g.res, r.ID)
			g.mu.Unlock()
			if ch != nil {
				ch <- r
			}
		}
	}()
	return g, nil
}

func (g *gateway) ask(r request) (reply, error) {
	ch := make(chan reply, 1)
	g.mu.Lock()
	g.res[r.ID] = ch
	g.mu.Unlock()
	b, _ := json.Marshal(r)
	g.wmu.Lock()
	_, err := g.in.Write(append(b, '\n'))
	g.wmu.Unlock()
	if err != nil {
		return reply{}, err
	}
	select {
	case rep := <-ch:
		if rep.Err != "" {
			return rep, errors.New(rep.Err)
		}
		return rep, nil
	case <-time.After(30 * time.Second):
		return reply{}, errors.New("gateway side did not answer in 30 s")
	}
}

var usageID atomic.Int64

func (g *gateway) usage() (reply, error) {
	return g.ask(request{Op: "usage", ID: -1 - int(usageID.Add(1))})
}

func (g *gateway) stop() {
	_, _ = g.in.Write([]byte(`{"op":"quit"}` + "\n"))
	_ = g.in.Close()
	done := make(chan struct{})
	go func() { _ = g.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = g.cmd.Process.Kill()
		<-done
	}
}

// browser is one pion PeerConnection playing a browser with PCMU only. With
// fast set, once ICE and DTLS are up its SRTP goes through its own
// srtpmux stream on its own socket (as a browser has its own port), so
// the browsers cost the machine little next to the gateway side.
type browser struct {
	pc        *webrtc.PeerConnection
	track     *webrtc.TrackLocalStaticRTP
	mux       *srtpmux.Mux
	keys      *srtpmux.Keys
	stream    *srtpmux.Stream
	ssrc      uint32
	connected atomic.Bool
	offerAt   time.Time
	firstRx   atomic.Int64
	seq       uint16
	ts        uint32

	loop *genLoop       // the generator loop that plays it (gen.go)
	rfd  int            // the raw socket connected to the gateway, once armed (0: none)
	gw   netip.AddrPort // the gateway's ICE address
	next time.Duration  // when its next packet is due (the loop's)
}

var pcmu = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1}

func newAPI(b *browser) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: pcmu, PayloadType: 0}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled) // loopback candidates only
	ir := &interceptor.Registry{}
	// a browser that keeps checking consent whatever it hears back: once
	// armed, what the gateway sends reaches its Mux through the loop
	// (gen.go), a tick late, which must not end the call
	se.SetICETimeouts(0, 0, 2*time.Second)
	if b.mux != nil {
		se.SetICEUDPMux(ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: b.mux.PacketConn()}))
		se.SetDTLSKeyLogWriter(b.keys)
	} else if err := webrtc.ConfigureRTCPReports(ir); err != nil { // a browser's RTCP reports, not its video machinery
		return nil, err
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(ir)), nil
}

// browserPorts are the ports the browsers' sockets hold.
var browserPorts sync.Map // int -> struct{}

// uniquePort binds a browser's socket (SO_REUSEPORT, by lc) on a loopback
// port no other browser holds. Linux may give a port 0 bind with
// SO_REUSEPORT a port that another SO_REUSEPORT socket of the same user
// already has (sharing is not a conflict for it): two browsers in one
// reuseport group then get each other's packets, and one of them never
// hears its call (0.5-1 % of the calls at 300-1,000 calls).
func uniquePort(lc net.ListenConfig) (*net.UDPConn, error) {
	for range 64 {
		pconn, err := lc.ListenPacket(context.Background(), "udp4", netip.AddrPortFrom(loopback, 0).String())
		if err != nil {
			return nil, err
		}
		conn := pconn.(*net.UDPConn)
		port := conn.LocalAddr().(*net.UDPAddr).Port
		if _, taken := browserPorts.LoadOrStore(port, struct{}{}); !taken {
			return conn, nil
		}
		_ = conn.Close()
	}
	return nil, errors.New("no loopback port of its own for a browser")
}

// counters of the whole run
type counters struct {
	sentB, recvB, sentP, recvP atomic.Uint64
	viaLoop                    atomic.Uint64 // datagrams to browsers read by the loops' raw sockets
	stop                       atomic.Bool
}

func (b *browser) received(c *counters) {
	if b.firstRx.Load() == 0 {
		b.firstRx.Store(time.Now().UnixNano())
	}
	c.recvB.Add(1)
}

func newBrowser(c *counters, g *generator, fast bool) (*browser, error) {
	b := &browser{loop: g.pick()}
	if fast {
		// SO_REUSEPORT: the raw socket that takes its media once armed
		// (gen.go) shares the port
		lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			if err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, unix.SO_REUSEPORT, 1) }); err != nil {
				return err
			}
			return serr
		}}
		conn, err := uniquePort(lc)
		if err != nil {
			return nil, err
		}
		_ = conn.SetReadBuffer(1 << 20)
		_ = conn.SetWriteBuffer(1 << 20)
		m, err := srtpmux.New(conn, nil)
		if err != nil {
			return nil, err
		}
		b.mux, b.keys = m, &srtpmux.Keys{}
		b.stream = m.NewStream(b.keys, func([]byte, int) { b.received(c) })
	}
	api, err := newAPI(b)
	if err != nil {
		b.close()
		return nil, err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		b.close()
		return nil, err
	}
	b.pc = pc
	b.track, err = webrtc.NewTrackLocalStaticRTP(pcmu, "audio", "bench")
	var tr *webrtc.RTPTransceiver
	if err == nil {
		tr, err = pc.AddTransceiverFromTrack(b.track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	}
	if err != nil {
		b.close()
		return nil, err
	}
	if enc := tr.Sender().GetParameters().Encodings; len(enc) > 0 {
		b.ssrc = uint32(enc[0].SSRC)
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s != webrtc.PeerConnectionStateConnected || b.connected.Load() {
			return
		}
		if b.stream != nil {
			pair, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
			if err != nil || pair == nil {
				return
			}
			ip, err := netip.ParseAddr(pair.Remote.Address)
			if err != nil {
				return
			}
			// the gateway answers a=setup:active: the browser is the DTLS server
			b.gw = netip.AddrPortFrom(ip, pair.Remote.Port)
			if err := b.stream.Arm(b.gw, false); err != nil {
				fmt.Fprintln(os.Stderr, "browser fast path:", err)
			} else if err := b.connect(); err != nil {
				fmt.Fprintln(os.Stderr, "browser socket:", err)
			}
		}
		b.connected.Store(true)
		if err := b.loop.addBrowser(b, time.Since(g.start)); err != nil {
			fmt.Fprintln(os.Stderr, "browser:", err)
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		for {
			if _, _, err := t.Read(buf); err != nil {
				return
			}
			b.received(c)
		}
	})
	return b, nil
}

// send sends the browser's next 20 ms packet, pkt a scratch buffer with
// room for the SRTP trailer.
func (b *browser) send(pkt []byte) bool {
	b.seq++
	b.ts += 160
	if b.stream != nil && b.stream.Armed() {
		p := pkt[:12+160]
		p[0], p[1] = 0x80, 0
		binary.BigEndian.PutUint16(p[2:], b.seq)
		binary.BigEndian.PutUint32(p[4:], b.ts)
		binary.BigEndian.PutUint32(p[8:], b.ssrc)
		clear(p[12:])
		return b.stream.Send(p) == nil
	}
	rp := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: b.seq, Timestamp: b.ts}, Payload: pkt[12 : 12+160]}
	return b.track.WriteRTP(rp) == nil
}

// sendBatch seals the browser's next 20 ms packet into seal and adds it
// to snd, to leave the browser's own connected socket; false when the
// stream cannot send yet (the packet is then not counted as sent).
func (b *browser) sendBatch(pkt, seal []byte, snd *udpbatch.Sender) bool {
	if !b.stream.Armed() {
		return false
	}
	b.seq++
	b.ts += 160
	p := pkt[:12+160]
	p[0], p[1] = 0x80, 0
	binary.BigEndian.PutUint16(p[2:], b.seq)
	binary.BigEndian.PutUint32(p[4:], b.ts)
	binary.BigEndian.PutUint32(p[8:], b.ssrc)
	clear(p[12:])
	out, to, err := b.stream.Seal(seal, p)
	if err != nil {
		return false
	}
	return snd.Add(b.rfd, false, out, to) == nil
}

// connect opens the browser's raw socket on its Mux's port, connected to
// the gateway (gen.go): from now on the gateway's packets arrive there.
func (b *browser) connect() error {
	fd, _, err := rawUDP(int(b.mux.LocalAddr().Port()), true)
	if err != nil {
		return err
	}
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: int(b.gw.Port()), Addr: b.gw.Addr().As4()}); err != nil {
		_ = unix.Close(fd)
		return err
	}
	b.rfd = fd
	return nil
}

func (b *browser) close() {
	if b.rfd > 0 {
		_ = unix.Close(b.rfd)
	}
	if b.pc != nil {
		_ = b.pc.Close()
	}
	if b.stream != nil {
		b.stream.Close()
	}
	if b.mux != nil {
		port := int(b.mux.LocalAddr().Port())
		_ = b.mux.Close()
		browserPorts.Delete(port)
	}
}

// plainCall is one call's plain RTP endpoint: a share of a socket.
type plainCall struct {
	to   netip.AddrPort
	ssrc uint32
	seq  uint16
	ts   uint32
	next time.Duration // when its next packet is due
}

// plainSock is a raw socket of the plain endpoints (gen.go).
type plainSock struct {
	fd    int
	addr  netip.AddrPort
	mu    sync.Mutex
	calls []*plainCall
}

// generator is the loops that play the streams (gen.go).
type generator struct {
	loops []*genLoop
	start time.Time
	next  atomic.Int64
	wg    sync.WaitGroup
}

func (g *generator) pick() *genLoop { return g.loops[int(g.next.Add(1))%len(g.loops)] }

// stop ends the loops, once they have read what is in flight.
func (g *generator) stop() {
	for _, l := range g.loops {
		close(l.quit)
	}
	g.wg.Wait()
	for _, l := range g.loops {
		_ = unix.Close(l.epfd)
		l.snd.Close()
		l.rcv.Close()
	}
}

func run(n int, p params) (result, error) {
	r := result{n: n, window: p.duration}
	gw, err := startGateway(p)
	if err != nil {
		return r, err
	}
	defer gw.stop()
	u0, err := gw.usage()
	if err != nil {
		return r, err
	}
	r.goroutines0 = u0.Goroutines
	var c counters
	g := &generator{start: time.Now()}
	for range runtime.NumCPU() {
		l, err := newGenLoop(&c)
		if err != nil {
			return r, err
		}
		g.loops = append(g.loops, l)
		g.wg.Add(1)
		go l.run(g.start, &g.wg)
	}
	stopped := false
	stopGen := func() {
		if !stopped {
			stopped = true
			c.stop.Store(true)
			time.Sleep(300 * time.Millisecond) // what is in flight arrives
			g.stop()
		}
	}
	defer stopGen()
	socks := make([]*plainSock, p.sockets)
	for i := range socks {
		fd, addr, err := rawUDP(0, false)
		if err != nil {
			return r, err
		}
		defer unix.Close(fd)
		socks[i] = &plainSock{fd: fd, addr: addr}
		g.loops[i%len(g.loops)].addPlain(socks[i])
	}

	// set up the calls, p.parallel at a time
	browsers := make([]*browser, n)
	var failed atomic.Int64
	var next atomic.Int64
	var setup sync.WaitGroup
	for range p.parallel {
		setup.Add(1)
		go func() {
			defer setup.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := placeCall(gw, &c, g, socks[i%len(socks)], i, browsers, !p.slowBrowsers); err != nil {
					if failed.Add(1) <= 3 {
						fmt.Fprintf(os.Stderr, "call %d: %v\n", i, err)
					}
				}
			}
		}()
	}
	setup.Wait()
	r.failed = int(failed.Load())
	// every call up and audio in: at most 60 s
	deadline := time.Now().Add(60 * time.Second)
	for {
		up := 0
		for _, b := range browsers {
			if b != nil && b.firstRx.Load() != 0 {
				up++
			}
		}
		if up == n-r.failed || time.Now().After(deadline) {
			r.failed = n - up
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer func() {
		var cw sync.WaitGroup
		for _, b := range browsers {
			if b != nil {
				cw.Add(1)
				go func() { defer cw.Done(); b.close() }()
			}
		}
		cw.Wait()
	}()
	for _, b := range browsers {
		if b != nil && b.firstRx.Load() != 0 {
			r.setup = append(r.setup, time.Duration(b.firstRx.Load()-b.offerAt.UnixNano()))
		}
	}
	time.Sleep(time.Second) // steady state
	a0, err := gw.usage()
	if err != nil {
		return r, err
	}
	g0 := cpuTimeSelf()
	ov0 := rcvbufErrors()
	plainPorts := map[uint16]bool{}
	for _, k := range socks {
		plainPorts[k.addr.Port()] = true
	}
	tally := func() sockTally {
		if !*verbose {
			return sockTally{}
		}
		return tallySockets(gw.cmd.Process.Pid, a0.ICEPort, p.portMin, p.portMax, plainPorts)
	}
	t0 := tally()
	if *verbose {
		fmt.Printf("  [window] opens at %s, load average %s\n", time.Now().UTC().Format("15:04:05"), loadavg())
	}
	var gf0 udpbatch.Counters
	for _, l := range g.loops {
		l.mu.Lock()
		gf0.Failed += l.snd.Counters().Failed
		l.mu.Unlock()
	}
	sB0, rP0, sP0, rB0 := c.sentB.Load(), c.recvP.Load(), c.sentP.Load(), c.recvB.Load()
	via0 := c.viaLoop.Load()
	if p.genProfile != "" {
		if f, err := os.Create(p.genProfile); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				defer f.Close()
				defer pprof.StopCPUProfile() // once the window is over, below
			}
		}
	}
	time.Sleep(p.duration)
	a1, err := gw.usage()
	if err != nil {
		return r, err
	}
	g1 := cpuTimeSelf()
	r.overflows = rcvbufErrors() - ov0
	t1 := tally()
	sB1, sP1 := c.sentB.Load(), c.sentP.Load()
	var gf1 udpbatch.Counters
	for _, l := range g.loops {
		l.mu.Lock()
		gf1.Failed += l.snd.Counters().Failed
		l.mu.Unlock()
	}
	stopGen()
	r.sentB, r.recvP, r.sentP, r.recvB = sB1-sB0, c.recvP.Load()-rP0, sP1-sP0, c.recvB.Load()-rB0
	r.nominal = uint64(float64(n-r.failed) * 50 * p.duration.Seconds())
	r.gwCPU, r.genCPU = a1.CPU-a0.CPU, g1-g0
	r.bridged = (a1.ToBrowser + a1.FromBrowser) - (a0.ToBrowser + a0.FromBrowser)
	if up := n - r.failed; up > 0 {
		r.rssCall = float64(a1.RSS-u0.RSS) / float64(up)
		r.heapCal = float64(int64(a1.Heap)-int64(u0.Heap)) / float64(up)
	}
	r.goroutines = a1.Goroutines
	if *verbose {
		fmt.Printf("  [window] generator: %d datagrams to browsers read on their connected raw sockets\n", c.viaLoop.Load()-via0)
		fmt.Printf("  [window] gateway fast path: decrypted %d, encrypted %d, refused %d\n", a1.FastIn-a0.FastIn, a1.FastOut-a0.FastOut, a1.FastBad-a0.FastBad)
		fmt.Printf("  [window] legs: from browsers %d, to browsers %d, dropped %d, legs with nothing from the browser %d; relay A: accepted %d forwarded %d dropped %d ignored %d\n",
			a1.FromBrowser-a0.FromBrowser, a1.ToBrowser-a0.ToBrowser, a1.Dropped-a0.Dropped, a1.NoFlow,
			a1.RelayA[0]-a0.RelayA[0], a1.RelayA[1]-a0.RelayA[1], a1.RelayA[2]-a0.RelayA[2], a1.RelayA[3]-a0.RelayA[3])
		fmt.Printf("  [window] relay B (plain -> browser): accepted %d forwarded %d dropped %d ignored %d\n",
			a1.RelayB[0]-a0.RelayB[0], a1.RelayB[1]-a0.RelayB[1], a1.RelayB[2]-a0.RelayB[2], a1.RelayB[3]-a0.RelayB[3])
		fmt.Printf("  [window] sends refused: gateway ICE socket (to browsers) %d, gateway reader's batches (to phones) %d, browsers' batches %d; gateway Mux drops (slow queue full or bad SRTP) %d\n",
			a1.MuxSendFailed-a0.MuxSendFailed, a1.BatchFailed-a0.BatchFailed, gf1.Failed-gf0.Failed, a1.MuxDropped-a0.MuxDropped)
		fmt.Printf("  [window] the gateway's ICE port: %d socket(s) (SO_REUSEPORT readers; 0: a build before them), each with a %d KiB receive buffer\n", a1.ICEReaders, a1.ICEBuffer/1024)
		printSockets(t0, t1)
	}
	return r, nil
}

func placeCall(gw *gateway, c *counters, g *generator, s *plainSock, i int, browsers []*browser, fast bool) error {
	b, err := newBrowser(c, g, fast)
	if err != nil {
		return err
	}
	b.offerAt = time.Now()
	offer, err := b.pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(offer); err != nil {
		return err
	}
	<-gathered
	rep, err := gw.ask(request{Op: "call", ID: i, Offer: b.pc.LocalDescription().SDP, Plain: s.addr.String()})
	if err != nil {
		b.close()
		return err
	}
	if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: rep.Answer}); err != nil {
		b.close()
		return err
	}
	to, err := netip.ParseAddrPort(rep.Relay)
	if err != nil {
		return err
	}
	if to.Addr().IsUnspecified() {
		to = netip.AddrPortFrom(loopback, to.Port())
	}
	s.mu.Lock()
	s.calls = append(slices.Clone(s.calls), &plainCall{to: to, ssrc: uint32(i + 1), next: time.Since(g.start)})
	s.mu.Unlock()
	browsers[i] = b
	return nil
}

func cpuTimeSelf() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rcvbufErrors is Udp RcvbufErrors of /proc/net/snmp (the whole machine).
func rcvbufErrors() uint64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return 0
	}
	var names []string
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
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
