package b2bua

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	psdp "github.com/pion/sdp/v3"

	"github.com/switchboard-gw/switchboard/gateway/cdr"
	"github.com/switchboard-gw/switchboard/media/relay"
	"github.com/switchboard-gw/switchboard/media/sdp"
)

// A fake far end and a call built by hand around it: the offer/answer
// path of re-INVITE and UPDATE (exchange) against what the other leg
// answers, without the rest of the gateway.

// fakePeer is a SIP UA on 127.0.0.1 that answers in-dialog requests as
// reply says and records them.
type fakePeer struct {
	uri   sip.Uri
	reply func(req *sip.Request) (int, string) // status and SDP
	// headers, when set, adds header fields to the response to req.
	headers func(req *sip.Request, code int) []sip.Header

	mu  sync.Mutex
	got []*sip.Request
}

func (p *fakePeer) requests() []*sip.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*sip.Request(nil), p.got...)
}

// listenUA starts a sipgo UA with a server on 127.0.0.1 and returns its
// client and URI; setup registers handlers before it listens.
func listenUA(t *testing.T, setup func(*sipgo.Server)) (*sipgo.Client, sip.Uri) {
	t.Helper()
	return listenUAWith(t, setup)
}

// listenUAWith is listenUA with options for the UA (a stray response
// handler).
func listenUAWith(t *testing.T, setup func(*sipgo.Server), opts ...sipgo.UserAgentOption) (*sipgo.Client, sip.Uri) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	ua, err := sipgo.NewUA(append([]sipgo.UserAgentOption{sipgo.WithUserAgentHostname("127.0.0.1")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(srv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	go func() {
		_ = srv.ListenAndServe(context.WithValue(ctx, sipgo.ListenReadyCtxKey, sipgo.ListenReadyCtxValue(ready)), "udp", addr)
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("UA did not start")
	}
	t.Cleanup(func() { cancel(); _ = ua.Close() })
	return client, sip.Uri{Scheme: "sip", Host: "127.0.0.1", Port: port}
}

func newFakePeer(t *testing.T, reply func(*sip.Request) (int, string)) *fakePeer {
	p := &fakePeer{reply: reply}
	handle := func(req *sip.Request, tx sip.ServerTransaction) {
		p.mu.Lock()
		p.got = append(p.got, req)
		p.mu.Unlock()
		if req.Method == sip.ACK {
			return
		}
		code, body := p.reply(req)
		res := sip.NewResponseFromRequest(req, code, "Reason", []byte(body))
		if body != "" {
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		}
		if p.headers != nil {
			for _, h := range p.headers(req, code) {
				res.AppendHeader(h)
			}
		}
		_ = tx.Respond(res)
	}
	_, p.uri = listenUA(t, func(srv *sipgo.Server) {
		for _, m := range []sip.RequestMethod{sip.INVITE, sip.UPDATE, sip.ACK, sip.INFO, sip.BYE} {
			srv.OnRequest(m, handle)
		}
	})
	return p
}

type noUsers struct{}

func (noUsers) HA1(string, string) (string, bool) { return "", false }

// testSDP is an SDP from port with payload types and a direction.
func testSDP(port, version int, dir string, pts ...int) string {
	f := make([]string, len(pts))
	var maps strings.Builder
	for i, pt := range pts {
		f[i] = strconv.Itoa(pt)
		switch pt {
		case 0:
			maps.WriteString("a=rtpmap:0 PCMU/8000\r\n")
		case 8:
			maps.WriteString("a=rtpmap:8 PCMA/8000\r\n")
		case 101:
			maps.WriteString("a=rtpmap:101 telephone-event/8000\r\n")
		}
	}
	if dir != "" {
		maps.WriteString("a=" + dir + "\r\n")
	}
	return fmt.Sprintf("v=0\r\no=t 1 %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP %s\r\n%s",
		version, port, strings.Join(f, " "), maps.String())
}

// mirrorAnswer answers an offer with its first codec, the mirrored
// direction (RFC 3264 §6.1), from port 30002.
func mirrorAnswer(offer string) string {
	sd, err := sdp.Parse([]byte(offer))
	if err != nil {
		return ""
	}
	st, _ := sdp.AudioStream(sd)
	dir := sdp.Mirror(st.Direction)
	d := ""
	if dir != psdp.DirectionSendRecv {
		d = dir.String()
	}
	return testSDP(30002, 1, d, int(st.Codecs[0].PayloadType))
}

// testCall builds an answered call whose B leg is peer; the A leg is a
// peer that answers 200 to everything.
func testCall(t *testing.T, peer *fakePeer) (*call, *leg) {
	t.Helper()
	a := newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" })
	return testCallWith(t, a, peer, nil)
}

// testCallWith builds an answered call between peers a and b, with rec
// taking its CDR.
func testCallWith(t *testing.T, pa, peer *fakePeer, rec cdr.Recorder) (*call, *leg) {
	t.Helper()
	client, self := listenUA(t, nil)
	rl, err := relay.New(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rl.Close() })
	b := New(Options{Users: noUsers{}, Client: client, Relay: rl,
		MediaAddr: netip.MustParseAddr("127.0.0.1"), Domain: "example.com",
		Contact: func(string) sip.Uri { return self }, CDR: rec,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(b.Close)
	return callOn(t, b, rl, self, pa, peer)
}

// callOn builds an answered call on b between peers pa (A leg) and peer
// (B leg), with its media on rl; self is b's Contact.
func callOn(t *testing.T, b *B2BUA, rl *relay.Relay, self sip.Uri, pa, peer *fakePeer) (*call, *leg) {
	t.Helper()
	media, err := rl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = media.Close() })
	mk := func(target sip.Uri) *dialog {
		d := &dialog{callID: sip.GenerateTagN(12), localTag: sip.GenerateTagN(8), remoteTag: sip.GenerateTagN(8),
			local: self, remote: target, contact: self, transport: "UDP", remoteTarget: target}
		d.addPeer(hostPort(target))
		return d
	}
	c := &call{gw: b, a: mk(pa.uri), b: mk(peer.uri), media: media,
		originA: sdp.NewOrigin(), originB: sdp.NewOrigin(), ackc: make(chan struct{}), done: make(chan struct{}),
		started: time.Now(), answered: time.Now()}
	c.est.init()
	c.est.up = true
	c.est.from[c.b] = []byte(testSDP(30002, 1, "", 0, 8))
	c.est.sent[c.b] = []byte(testSDP(int(media.B().LocalAddr().Port()), 1, "", 0, 8))
	a0 := testSDP(30000, 1, "", 0, 8)
	c.est.from[c.a] = []byte(a0)
	sd, _ := sdp.Parse([]byte(a0))
	st, _ := sdp.AudioStream(sd)
	media.A().SetRemote(st.Remote())
	b.addDialogs(c)
	l, _ := c.legs(true)
	return c, l
}

func TestExchange(t *testing.T) {
	tests := []struct {
		name    string
		method  sip.RequestMethod
		offer   string
		reply   func(*sip.Request) (int, string)
		wantErr error
		status  int      // of the far end's refusal
		methods []string // what the far end got, in order
		aDir    psdp.Direction
		bDir    psdp.Direction
		answer  string // a line the answer to A must hold

		rollback bool // the far end was re-INVITEd back to the old session
	}{
		{
			name: "hold: sendonly offered, recvonly answered", method: sip.INVITE,
			offer:   testSDP(30000, 2, "sendonly", 0, 8),
			reply:   func(r *sip.Request) (int, string) { return 200, mirrorAnswer(string(r.Body())) },
			methods: []string{"INVITE", "ACK"}, aDir: psdp.DirectionSendOnly, bDir: psdp.DirectionRecvOnly,
			answer: "a=recvonly",
		},
		{
			name: "hold: inactive both ways", method: sip.INVITE,
			offer:   testSDP(30000, 2, "inactive", 0, 8),
			reply:   func(r *sip.Request) (int, string) { return 200, mirrorAnswer(string(r.Body())) },
			methods: []string{"INVITE", "ACK"}, aDir: psdp.DirectionInactive, bDir: psdp.DirectionInactive,
			answer: "a=inactive",
		},
		{
			name: "old-style hold: c=0.0.0.0 offered as sendonly (RFC 3264 §8.4)", method: sip.INVITE,
			offer:   strings.Replace(testSDP(30000, 2, "", 0), "c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0", 1),
			reply:   func(r *sip.Request) (int, string) { return 200, mirrorAnswer(string(r.Body())) },
			methods: []string{"INVITE", "ACK"}, aDir: psdp.DirectionSendRecv, bDir: psdp.DirectionRecvOnly,
			answer: "a=recvonly",
		},
		{
			name: "codec change", method: sip.INVITE,
			offer:   testSDP(30000, 2, "", 8),
			reply:   func(r *sip.Request) (int, string) { return 200, mirrorAnswer(string(r.Body())) },
			methods: []string{"INVITE", "ACK"}, aDir: psdp.DirectionSendRecv, bDir: psdp.DirectionSendRecv,
			answer: "m=audio", // checked below: PCMA only
		},
		{
			name: "refused: relay back as it was", method: sip.INVITE,
			offer:   testSDP(31000, 2, "inactive", 0),
			reply:   func(*sip.Request) (int, string) { return 488, "" },
			wantErr: errPeerStatus, status: 488, methods: []string{"INVITE"}, aDir: psdp.DirectionSendRecv,
		},
		{
			name: "far end in glare: 491 relayed", method: sip.UPDATE,
			offer:   testSDP(30000, 2, "sendonly", 0),
			reply:   func(*sip.Request) (int, string) { return 491, "" },
			wantErr: errPeerStatus, status: 491, methods: []string{"UPDATE"}, aDir: psdp.DirectionSendRecv,
		},
		{
			name: "UPDATE not implemented: re-INVITE instead", method: sip.UPDATE,
			offer: testSDP(30000, 2, "sendonly", 0),
			reply: func(r *sip.Request) (int, string) {
				if r.Method == sip.UPDATE {
					return 501, ""
				}
				return 200, mirrorAnswer(string(r.Body()))
			},
			methods: []string{"UPDATE", "INVITE", "ACK"}, aDir: psdp.DirectionSendOnly, bDir: psdp.DirectionRecvOnly,
			answer: "a=recvonly",
		},
		{
			name: "answer with no offered codec left", method: sip.INVITE,
			offer: testSDP(30000, 2, "", 0),
			reply: func(*sip.Request) (int, string) { return 200, testSDP(30002, 2, "", 8) },
			// The rollback re-INVITE gets the same unusable answer: logged.
			wantErr: sdp.ErrNoCommonCodec, methods: []string{"INVITE", "ACK", "INVITE", "ACK"}, aDir: psdp.DirectionSendRecv,
		},
		{
			name: "garbage SDP in the 2xx: far end re-INVITEd back (RFC 3261 §14.1)", method: sip.INVITE,
			offer: testSDP(30000, 2, "inactive", 0),
			reply: func(r *sip.Request) (int, string) {
				if strings.Contains(string(r.Body()), "a=inactive") {
					return 200, "v=0\r\nthis is not SDP\r\n"
				}
				return 200, mirrorAnswer(string(r.Body()))
			},
			wantErr: sdp.ErrMalformed, methods: []string{"INVITE", "ACK", "INVITE", "ACK"}, aDir: psdp.DirectionSendRecv,
			rollback: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peer := newFakePeer(t, tt.reply)
			c, l := testCall(t, peer)
			before := c.media.A().Remote()
			ans, res, err := c.exchange(l, []byte(tt.offer), tt.method, nil)
			if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if tt.status != 0 && (res == nil || res.StatusCode != tt.status) {
				t.Errorf("refusal %v, want %d", res, tt.status)
			}
			time.Sleep(50 * time.Millisecond) // the ACK has no response to wait for
			var got []string
			for _, r := range peer.requests() {
				got = append(got, string(r.Method))
			}
			// Order-blind: an ACK may arrive after the next request.
			want := slices.Sorted(slices.Values(tt.methods))
			if strings.Join(slices.Sorted(slices.Values(got)), " ") != strings.Join(want, " ") {
				t.Errorf("far end got %v, want %v", got, tt.methods)
			}
			if tt.rollback {
				var invs []string
				for _, r := range peer.requests() {
					if r.Method == sip.INVITE {
						invs = append(invs, string(r.Body()))
					}
				}
				first, back := invs[0], invs[1]
				if strings.Contains(back, "a=inactive") || sdpVersion(t, back) <= sdpVersion(t, first) {
					t.Errorf("rollback offer %q after %q: want the old session, newer o= version", back, first)
				}
				if c.media.B().Remote().Direction == psdp.DirectionInactive {
					t.Errorf("relay B side inactive after the rollback")
				}
			}
			if err != nil {
				if c.media.A().Remote() != before {
					t.Errorf("relay A side %+v after a failed exchange, want %+v", c.media.A().Remote(), before)
				}
				return
			}
			if d := c.media.A().Remote().Direction; d != tt.aDir && !(d == 0 && tt.aDir == psdp.DirectionSendRecv) {
				t.Errorf("relay A direction %s, want %s", d, tt.aDir)
			}
			if d := c.media.B().Remote().Direction; d != tt.bDir && !(d == 0 && tt.bDir == psdp.DirectionSendRecv) {
				t.Errorf("relay B direction %s, want %s", d, tt.bDir)
			}
			offerB := string(peer.requests()[len(tt.methods)-2].Body())
			if a := sdpAddr(offerB); a.Port() != c.media.B().LocalAddr().Port() {
				t.Errorf("offer to B points at %v, want the relay's B side %v", a, c.media.B().LocalAddr())
			}
			if a := sdpAddr(string(ans)); a.Port() != c.media.A().LocalAddr().Port() {
				t.Errorf("answer to A points at %v, want the relay's A side %v", a, c.media.A().LocalAddr())
			}
			if !strings.Contains(string(ans), tt.answer) {
				t.Errorf("answer lacks %q:\n%s", tt.answer, ans)
			}
			if tt.name == "codec change" && (!strings.Contains(string(ans), "RTP/AVP 8\r\n") || !strings.Contains(offerB, "RTP/AVP 8\r\n")) {
				t.Errorf("codec change: offer %q answer %q, want PCMA only", offerB, ans)
			}
			// The same offer again changes nothing: answered here, the far
			// end is not asked (a session refresh, RFC 4028).
			n := len(peer.requests())
			again, _, err := c.exchange(l, []byte(tt.offer), tt.method, nil)
			if err != nil || string(again) != string(ans) || len(peer.requests()) != n {
				t.Errorf("repeated offer: err %v, same answer %v, far end asked again %v", err, string(again) == string(ans), len(peer.requests()) != n)
			}
		})
	}
}

func sdpAddr(body string) netip.AddrPort {
	sd, err := sdp.Parse([]byte(body))
	if err != nil {
		return netip.AddrPort{}
	}
	st, _ := sdp.AudioStream(sd)
	return st.RTP
}

// TestStrayReinvite2xx: a retransmitted 2xx to a re-INVITE we sent on the
// A leg (our ACK was lost) is ACKed again, not left to end the dialog
// (RFC 3261 §13.2.2.4).
func TestStrayReinvite2xx(t *testing.T) {
	peer := newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" })
	a := newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" })
	c, _ := testCallWith(t, a, peer, nil)
	inv := c.a.newRequest(sip.INVITE)
	res := sip.NewResponseFromRequest(inv, 200, "OK", nil)
	res.To().Params.Add("tag", c.a.remoteTag)
	c.gw.OnStrayResponse(res)
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, r := range a.requests() {
			if r.Method == sip.ACK && r.CSeq().SeqNo == inv.CSeq().SeqNo {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the A leg got no ACK for the retransmitted 2xx")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sdpVersion is the o= sess-version of body.
func sdpVersion(t *testing.T, body string) uint64 {
	t.Helper()
	sd, err := sdp.Parse([]byte(body))
	if err != nil {
		t.Fatalf("parse %q: %v", body, err)
	}
	return sd.Origin.SessionVersion
}
