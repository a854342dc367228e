package dnssrv

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// uas is a real sipgo UAS on a loopback address (all of 127/8 is loopback
// on Linux): OPTIONS and MESSAGE get status, INVITE gets 180 then status.
type uas struct {
	addr    string
	status  atomic.Int32
	retry   atomic.Int32 // Retry-After seconds on 503, 0 for none
	got     atomic.Int32 // requests received
	options atomic.Int32 // OPTIONS received
	delay   atomic.Int64 // before answering an INVITE at all (a slow PBX)
	stop    func()
}

// startUAS listens on network at addr (host:port; port 0 = any).
func startUAS(t testing.TB, network, addr string) *uas {
	t.Helper()
	u := &uas{}
	u.status.Store(200)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("uas"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	answer := func(req *sip.Request, tx sip.ServerTransaction) {
		code := int(u.status.Load())
		res := sip.NewResponseFromRequest(req, code, "Status", nil)
		if code == 503 && u.retry.Load() > 0 {
			res.AppendHeader(sip.NewHeader("Retry-After", strconv.Itoa(int(u.retry.Load()))))
		}
		_ = tx.Respond(res)
	}
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) { u.options.Add(1); answer(req, tx) })
	srv.OnMessage(func(req *sip.Request, tx sip.ServerTransaction) { u.got.Add(1); answer(req, tx) })
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		u.got.Add(1)
		time.Sleep(time.Duration(u.delay.Load()))
		if u.status.Load() < 300 {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 180, "Ringing", nil))
			time.Sleep(50 * time.Millisecond) // sipgo may deliver the two out of order
		}
		answer(req, tx)
	})
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	var closer func() error
	var serve func() error
	switch network {
	case "udp":
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		u.addr, closer, serve = pc.LocalAddr().String(), pc.Close, func() error { return srv.ServeUDP(pc) }
	case "tcp":
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		u.addr, closer, serve = ln.Addr().String(), ln.Close, func() error { return srv.ServeTCP(ln) }
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = serve() }()
	var once sync.Once
	u.stop = func() {
		once.Do(func() {
			_ = closer()
			_ = ua.Close()
			<-done
		})
	}
	t.Cleanup(u.stop)
	return u
}

// blackHole is a UDP socket that reads and never answers.
func blackHole(t testing.TB, addr string) (stop func()) {
	t.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65535)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { pc.Close(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// freePort returns a port free for network on both 127.0.0.2 and
// 127.0.0.3, so that one SRV port serves both.
func freePort(t testing.TB, network string) int {
	t.Helper()
	for range 50 {
		var p int
		var c1, c2 interface{ Close() error }
		if network == "udp" {
			a, err := net.ListenPacket("udp", "127.0.0.2:0")
			if err != nil {
				t.Skipf("127.0.0.2 not usable: %v", err)
			}
			p = a.LocalAddr().(*net.UDPAddr).Port
			b, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.3:%d", p))
			c1 = a
			if err == nil {
				c2 = b
			}
		} else {
			a, err := net.Listen("tcp", "127.0.0.2:0")
			if err != nil {
				t.Skipf("127.0.0.2 not usable: %v", err)
			}
			p = a.Addr().(*net.TCPAddr).Port
			b, err := net.Listen("tcp", fmt.Sprintf("127.0.0.3:%d", p))
			c1 = a
			if err == nil {
				c2 = b
			}
		}
		c1.Close()
		if c2 != nil {
			c2.Close()
			return p
		}
	}
	t.Fatal("no common free port")
	return 0
}

// pbxZone publishes a primary (127.0.0.2, priority 10) and a secondary
// (127.0.0.3, priority 20) for _sip._udp and _sip._tcp of pbx.test.
func pbxZone(t testing.TB, port int) *zone {
	return newZone(t,
		fmt.Sprintf("_sip._udp.pbx.test. 60 IN SRV 10 0 %d primary.pbx.test.", port),
		fmt.Sprintf("_sip._udp.pbx.test. 60 IN SRV 20 0 %d secondary.pbx.test.", port),
		fmt.Sprintf("_sip._tcp.pbx.test. 60 IN SRV 10 0 %d primary.pbx.test.", port),
		fmt.Sprintf("_sip._tcp.pbx.test. 60 IN SRV 20 0 %d secondary.pbx.test.", port),
		"primary.pbx.test. 60 IN A 127.0.0.2",
		"secondary.pbx.test. 60 IN A 127.0.0.3",
	)
}

// newClient returns a sipgo client on its own user agent.
func newClient(t testing.TB) *sipgo.Client {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("switchboard-test"), sipgo.WithUserAgentHostname("gw.test"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ua.Close() })
	return c
}

func message(t testing.TB) *sip.Request {
	t.Helper()
	var u sip.Uri
	if err := sip.ParseUri("sip:1000@pbx.test", &u); err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.MESSAGE, u)
	req.SetBody([]byte("hello"))
	return req
}

func invite(t testing.TB) *sip.Request {
	req := message(t)
	req.Method = sip.INVITE
	return req
}

func newTrunk(t testing.TB, r *Resolver, o TrunkOptions) *Trunk {
	t.Helper()
	if o.Name == "" {
		o.Name = "pbx"
	}
	if o.FailoverTimeout == 0 {
		o.FailoverTimeout = 200 * time.Millisecond
	}
	tr, err := NewTrunk(o, r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	return tr
}

var _ = context.Background
