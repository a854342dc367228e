package b2bua

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/gateway/digest"
	"github.com/switchboard-gw/switchboard/gateway/store"
	"github.com/switchboard-gw/switchboard/media/relay"
)

// An in-process B2BUA on 127.0.0.1 with raw UDP devices and a raw caller,
// so the forking paths run under the race detector.

type cdrRecorder struct{ ch chan cdr.Record }

func (r cdrRecorder) Record(rec cdr.Record) { r.ch <- rec }

// rawMsg is a parsed SIP message: first line and header lines.
type rawMsg struct {
	first string
	head  []string
	src   net.Addr
}

func parseRaw(b []byte, src net.Addr) rawMsg {
	h, _, _ := strings.Cut(string(b), "\r\n\r\n")
	lines := strings.Split(h, "\r\n")
	return rawMsg{first: lines[0], head: lines[1:], src: src}
}

func (m rawMsg) get(name string) string {
	for _, l := range m.head {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (m rawMsg) method() string { return strings.Fields(m.first)[0] }

func (m rawMsg) status() int {
	f := strings.Fields(m.first)
	n, _ := strconv.Atoi(f[1])
	return n
}

const forkSDP = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

// reply answers req from pc.
func reply(pc net.PacketConn, req rawMsg, code int, reason, tag, body string, extra ...string) {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for _, l := range req.head {
		if k, _, _ := strings.Cut(l, ":"); strings.EqualFold(k, "Via") {
			b.WriteString(l + "\r\n")
		}
	}
	to := req.get("To")
	if !strings.Contains(to, "tag=") {
		to += ";tag=" + tag
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\n", req.get("From"), to, req.get("Call-ID"), req.get("CSeq"))
	fmt.Fprintf(&b, "Contact: <sip:dev@%s>\r\n", pc.LocalAddr())
	for _, x := range extra {
		b.WriteString(x + "\r\n")
	}
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	_, _ = pc.WriteTo([]byte(b.String()), req.src)
}

// forkDevice is a registered phone: busy, answering after a delay, or ringing.
type forkDevice struct {
	pc     net.PacketConn
	busy   bool
	answer time.Duration
	mu     sync.Mutex
	// minSE, when set, is the device's Min-SE (RFC 4028 §6): an INVITE
	// whose Session-Expires is below it gets 422. Under mu.
	minSE int
	got   []rawMsg
}

func startForkDevice(t *testing.T, busy bool, answer time.Duration) *forkDevice {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &forkDevice{pc: pc, busy: busy, answer: answer}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 65536)
		cancelled := map[string]bool{}
		var cmu sync.Mutex
		for {
			n, src, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			m := parseRaw(buf[:n], src)
			if strings.HasPrefix(m.first, "SIP/2.0") {
				continue
			}
			d.mu.Lock()
			d.got = append(d.got, m)
			d.mu.Unlock()
			switch m.method() {
			case "INVITE":
				if d.busy {
					reply(pc, m, 486, "Busy Here", "dev", "")
					continue
				}
				d.mu.Lock()
				mse := d.minSE
				d.mu.Unlock()
				if se, _, _ := strings.Cut(m.get("Session-Expires"), ";"); mse > 0 && atoiOr0(se) < mse {
					reply(pc, m, 422, "Session Interval Too Small", "dev", "", "Min-SE: "+strconv.Itoa(mse))
					continue
				}
				reply(pc, m, 180, "Ringing", "dev", "")
				if d.answer > 0 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						time.Sleep(d.answer)
						cmu.Lock()
						gone := cancelled[m.get("Call-ID")]
						cmu.Unlock()
						if !gone {
							reply(pc, m, 200, "OK", "dev", forkSDP)
						}
					}()
				}
			case "CANCEL":
				reply(pc, m, 200, "OK", "dev", "")
				cmu.Lock()
				cancelled[m.get("Call-ID")] = true
				cmu.Unlock()
			case "BYE":
				reply(pc, m, 200, "OK", "dev", "")
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); wg.Wait() })
	return d
}

func (d *forkDevice) saw(method string) (rawMsg, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range d.got {
		if m.method() == method {
			return m, true
		}
	}
	return rawMsg{}, false
}

func (d *forkDevice) waitFor(t *testing.T, method string) rawMsg {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if m, ok := d.saw(method); ok {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("device %s: no %s", d.pc.LocalAddr(), method)
	return rawMsg{}
}

// startForkGateway runs a B2BUA on 127.0.0.1 whose user u1001 (extension
// 1001) has devs registered; every source is trusted (calls come in).
func startForkGateway(t *testing.T, devs ...*forkDevice) (addr string, rec cdrRecorder) {
	t.Helper()
	return startForkGatewayWith(t, nil, devs...)
}

// startForkGatewayWith is startForkGateway with opt changing the options.
func startForkGatewayWith(t *testing.T, opt func(*Options), devs ...*forkDevice) (addr string, rec cdrRecorder) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = pc.LocalAddr().String()
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sipgo.NewServer(ua)
	client, _ := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	auth, err := digest.New(digest.Options{Realm: "example.com", Secret: []byte(strings.Repeat("s", 32))})
	if err != nil {
		t.Fatal(err)
	}
	rl, err := relay.New(relay.Config{PortMin: 46000, PortMax: 46999})
	if err != nil {
		t.Fatal(err)
	}
	var bs []store.Binding
	for _, d := range devs {
		a := d.pc.LocalAddr().String()
		bs = append(bs, store.Binding{AOR: "u1001@example.com", ContactURI: "sip:u1001@" + a, Source: a, Transport: "udp", LocalAddr: addr})
	}
	_, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	rec = cdrRecorder{ch: make(chan cdr.Record, 8)}
	o := Options{
		Auth: auth, Users: fakeUsers{"u1000": true}, Router: Routes(nil), Client: client, Relay: rl,
		MediaAddr: netip.MustParseAddr("127.0.0.1"),
		Contact:   func(string) sip.Uri { return sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: p} },
		Domain:    "example.com",
		Local:     fakeLocal{"1001": "u1001"},
		Location:  fakeLocation{"u1001@example.com": bs},

		TrustedCallers: func(netip.Addr) bool { return true },

		CDR: rec,
	}
	if opt != nil {
		opt(&o)
	}
	b := New(o)
	for m, h := range b.Handlers() {
		srv.OnRequest(m, h)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeUDP(pc) }()
	t.Cleanup(func() {
		b.Close()
		_ = ua.Close()
		_ = pc.Close()
		<-done
		_ = rl.Close()
	})
	return addr, rec
}

// rawCaller is a raw UAC calling in from a trusted address.
type rawCaller struct {
	t       *testing.T
	pc      net.PacketConn
	gw      net.Addr
	ringing int // 180s received
}

func newCaller(t *testing.T, gw string) *rawCaller {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	ga, _ := net.ResolveUDPAddr("udp", gw)
	return &rawCaller{t: t, pc: pc, gw: ga}
}

func (c *rawCaller) send(method, ruri, to string, cseq int, body string) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%d%s;rport\r\n", method, ruri, c.pc.LocalAddr(), cseq, strings.ReplaceAll(c.pc.LocalAddr().String(), ":", ""))
	fmt.Fprintf(&b, "From: <sip:5551234@pbx.invalid>;tag=c1\r\nTo: %s\r\nCall-ID: call-%s\r\nCSeq: %d %s\r\n", to, c.pc.LocalAddr(), cseq, method)
	fmt.Fprintf(&b, "Contact: <sip:5551234@%s>\r\nMax-Forwards: 70\r\n", c.pc.LocalAddr())
	if body != "" {
		b.WriteString("Content-Type: application/sdp\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	if _, err := c.pc.WriteTo([]byte(b.String()), c.gw); err != nil {
		c.t.Fatal(err)
	}
}

// awaitRinging reads responses until a 180: the gateway then has the
// ringing device's early dialog (what a pickup names).
func (c *rawCaller) awaitRinging() {
	c.t.Helper()
	buf := make([]byte, 65536)
	for {
		_ = c.pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, src, err := c.pc.ReadFrom(buf)
		if err != nil {
			c.t.Fatalf("no 180: %v", err)
		}
		m := parseRaw(buf[:n], src)
		if !strings.HasPrefix(m.first, "SIP/2.0") {
			continue
		}
		if m.status() == 180 {
			c.ringing++
			return
		}
		if m.status() >= 200 {
			c.t.Fatalf("a final response before ringing: %s", m.first)
		}
	}
}

// final reads responses until a final one.
func (c *rawCaller) final() rawMsg {
	c.t.Helper()
	buf := make([]byte, 65536)
	for {
		_ = c.pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, src, err := c.pc.ReadFrom(buf)
		if err != nil {
			c.t.Fatalf("no final response: %v", err)
		}
		m := parseRaw(buf[:n], src)
		if !strings.HasPrefix(m.first, "SIP/2.0") {
			continue
		}
		if m.status() == 180 {
			c.ringing++
		}
		if m.status() >= 200 {
			return m
		}
	}
}

func TestForkInProcess(t *testing.T) {
	t.Run("one busy, one answers, one rings", func(t *testing.T) {
		busy, ans, ring := startForkDevice(t, true, 0), startForkDevice(t, false, 150*time.Millisecond), startForkDevice(t, false, 0)
		gw, rec := startForkGateway(t, busy, ans, ring)
		c := newCaller(t, gw)
		c.send("INVITE", "sip:1001@example.com", "<sip:1001@example.com>", 1, forkSDP)
		res := c.final()
		if res.status() != 200 {
			t.Fatalf("caller got %s", res.first)
		}
		if c.ringing != 1 {
			t.Errorf("caller got %d 180s from two ringing devices, want 1", c.ringing)
		}
		cancel := ring.waitFor(t, "CANCEL")
		if r := cancel.get("Reason"); r != reasonElsewhere {
			t.Errorf("CANCEL Reason %q", r)
		}
		to := res.get("To")
		target := strings.TrimSuffix(strings.TrimPrefix(res.get("Contact"), "<"), ">")
		c.send("ACK", target, to, 1, "")
		time.Sleep(50 * time.Millisecond)
		c.send("BYE", target, to, 2, "")
		if bye := c.final(); bye.status() != 200 {
			t.Fatalf("BYE: %s", bye.first)
		}
		ans.waitFor(t, "BYE")
		if _, ok := busy.saw("CANCEL"); ok {
			t.Error("the busy device got a CANCEL")
		}
		select {
		case r := <-rec.ch:
			if r.Direction != cdr.Inbound || r.Caller != "5551234" || r.AnsweredBy != "u1001" || r.Status != 200 || r.EndedBy != endedByCaller {
				t.Errorf("CDR %+v", r)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no CDR")
		}
	})
	t.Run("all busy", func(t *testing.T) {
		gw, rec := startForkGateway(t, startForkDevice(t, true, 0), startForkDevice(t, true, 0))
		c := newCaller(t, gw)
		c.send("INVITE", "sip:1001@example.com", "<sip:1001@example.com>", 1, forkSDP)
		if res := c.final(); res.status() != 486 {
			t.Fatalf("caller got %s", res.first)
		}
		select {
		case r := <-rec.ch:
			if r.Status != 486 || r.Cause != string(CauseBusy) || r.Direction != cdr.Inbound {
				t.Errorf("CDR %+v", r)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no CDR")
		}
	})
	t.Run("no device", func(t *testing.T) {
		gw, _ := startForkGateway(t)
		c := newCaller(t, gw)
		c.send("INVITE", "sip:1001@example.com", "<sip:1001@example.com>", 1, forkSDP)
		if res := c.final(); res.status() != 480 {
			t.Fatalf("caller got %s", res.first)
		}
	})
}

// atoiOr0 is s as a number, 0 when it is none.
func atoiOr0(s string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}

// TestForkEachBranch422: both devices of the callee want a longer
// session interval (422 with Min-SE 3600, RFC 4028 §6): each gets the
// INVITE again with Session-Expires and Min-SE 3600 (§7.3). The 422
// retry is the branch's, not the call's: before, only the first device
// to answer 422 was asked again, and the other stayed refused.
func TestForkEachBranch422(t *testing.T) {
	d1, d2 := startForkDevice(t, false, 0), startForkDevice(t, false, 0)
	for _, d := range []*forkDevice{d1, d2} {
		d.mu.Lock()
		d.minSE = 3600
		d.mu.Unlock()
	}
	gw, _ := startForkGateway(t, d1, d2)
	c := newCaller(t, gw)
	c.send("INVITE", "sip:1001@example.com", "<sip:1001@example.com>", 1, forkSDP)
	c.awaitRinging()
	for i, d := range []*forkDevice{d1, d2} {
		var again rawMsg
		for deadline := time.Now().Add(5 * time.Second); again.first == ""; {
			d.mu.Lock()
			n := 0
			for _, m := range d.got {
				if m.method() == "INVITE" {
					if n++; n == 2 {
						again = m
					}
				}
			}
			d.mu.Unlock()
			if again.first != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("device %d: %d INVITEs, want its INVITE again after its 422", i+1, n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if se, mse := again.get("Session-Expires"), again.get("Min-SE"); se != "3600" || mse != "3600" {
			t.Errorf("device %d: INVITE again with Session-Expires %q Min-SE %q, want 3600 3600", i+1, se, mse)
		}
	}
	c.send("CANCEL", "sip:1001@example.com", "<sip:1001@example.com>", 1, "")
}
