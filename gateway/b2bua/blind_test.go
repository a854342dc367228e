package b2bua

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/media/relay"
)

// TestBlindTargetListedBeforeResume: in a blind transfer (RFC 5589 §6)
// the target z is listed on the transferee's call before the transferee
// is re-INVITEd: a target that hangs up while the transferee takes its
// time answering that re-INVITE gets 200 for its BYE and the transferee
// is hung up too (RFC 3261 §15.1.2). The transfer listed z only after the
// transferee answered: the BYE got 481 and the transferee stayed in a
// call with nobody.
// gatewayWithDialogs is a B2BUA on its own UA that takes BYE and ACK
// (the in-dialog requests these tests send it) and stray responses.
func gatewayWithDialogs(t *testing.T) (*B2BUA, *relay.Relay, sip.Uri) {
	t.Helper()
	var gw atomic.Pointer[B2BUA]
	stray := sip.WithTransactionLayerUnhandledResponseHandler(func(r *sip.Response) {
		if b := gw.Load(); b != nil {
			b.OnStrayResponse(r)
		}
	})
	client, self := listenUAWith(t, func(srv *sipgo.Server) {
		for _, m := range []sip.RequestMethod{sip.BYE, sip.ACK} {
			srv.OnRequest(m, func(req *sip.Request, tx sip.ServerTransaction) {
				if b := gw.Load(); b != nil {
					b.Handlers()[req.Method](req, tx)
				}
			})
		}
	}, sipgo.WithUserAgentTransactionLayerOptions(stray))
	rl, err := relay.New(relay.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rl.Close() })
	b := New(Options{Users: noUsers{}, Client: client, Relay: rl,
		MediaAddr: netip.MustParseAddr("127.0.0.1"), Domain: "example.com",
		Contact: func(string) sip.Uri { return self },
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil))})
	gw.Store(b)
	t.Cleanup(b.Close)
	return b, rl, self
}

// byeOn sends, from a UA of its own, the BYE of d's far end (tags as that
// end sees them) to self and returns the status it got (0: none).
func byeOn(t *testing.T, d *dialog, self sip.Uri) int {
	client, _ := listenUA(t, nil)
	bye := sip.NewRequest(sip.BYE, self)
	from := &sip.FromHeader{Address: d.remote, Params: sip.NewParams()}
	from.Params.Add("tag", d.remoteTag)
	to := &sip.ToHeader{Address: d.local, Params: sip.NewParams()}
	to.Params.Add("tag", d.localTag)
	bye.AppendHeader(from)
	bye.AppendHeader(to)
	cid := sip.CallIDHeader(d.callID)
	bye.AppendHeader(&cid)
	bye.AppendHeader(&sip.CSeqHeader{SeqNo: 99, MethodName: sip.BYE})
	bye.AppendHeader(sip.NewHeader("Max-Forwards", "70"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := client.Do(ctx, bye)
	if err != nil {
		return 0
	}
	return res.StatusCode
}

// TestBlindTransferorByeWhileResuming: a transferor that hangs up while
// the transferee is re-INVITEd towards the target (RFC 5589 §6: many
// phones BYE right after the NOTIFY) gets 200, not 481, and no BYE of
// ours afterwards; the transferee and the target stay connected. Listing
// the target before that re-INVITE took the transferor's dialog off the
// list at once.
func TestBlindTransferorByeWhileResuming(t *testing.T) {
	b, rl, self := gatewayWithDialogs(t)
	var xd atomic.Pointer[dialog] // the transferor's dialog
	byeCode := make(chan int, 1)
	transferee := newFakePeer(t, func(r *sip.Request) (int, string) {
		if r.Method == sip.INVITE {
			byeCode <- byeOn(t, xd.Load(), self)
			return 200, mirrorAnswer(string(r.Body()))
		}
		return 200, ""
	})
	transferor := newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" })
	tgt := newFakePeer(t, func(r *sip.Request) (int, string) {
		if r.Method == sip.INVITE {
			return 200, mirrorAnswer(string(r.Body()))
		}
		return 200, ""
	})
	c, _ := callOn(t, b, rl, self, transferee, transferor)
	x, _ := c.legs(false)
	xd.Store(x.d)
	if !c.beginTransfer(x.d) {
		t.Fatal("beginTransfer")
	}
	route := transferRoute{num: "2000", out: "2000", tgt: target{trunk: ipTrunk(t, "pbx", tgt)}}
	err := c.blind(x, route, nil, nil)
	c.endTransfer()
	if err != nil {
		t.Fatalf("blind transfer: %v", err)
	}
	select {
	case code := <-byeCode:
		if code != 200 {
			t.Errorf("the transferor's BYE got %d, want 200", code)
		}
	default:
		t.Fatal("the transferee was not re-INVITEd")
	}
	time.Sleep(200 * time.Millisecond) // what the transfer sends after it returned
	for _, r := range transferor.requests() {
		if r.Method == sip.BYE {
			t.Errorf("the transferor, gone already, got a BYE from us")
		}
	}
	for _, r := range transferee.requests() {
		if r.Method == sip.BYE {
			t.Errorf("the transferee was hung up")
		}
	}
	if !c.alive(c.a) || c.otherLeg(c.a) == x.d {
		t.Errorf("the transferee's call did not go on with the target")
	}
}

func TestBlindTargetListedBeforeResume(t *testing.T) {
	b, rl, self := gatewayWithDialogs(t)
	byeCode := make(chan int, 1)
	answered := make(chan struct{}) // invite and answer are set
	var invite *sip.Request
	var answer *sip.Response
	var tclient *sipgo.Client
	var tURI sip.Uri
	listening := make(chan struct{}) // tclient and tURI are set
	tclient, tURI = listenUA(t, func(srv *sipgo.Server) {
		srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
			<-listening
			res := sip.NewResponseFromRequest(req, 200, "OK", []byte(mirrorAnswer(string(req.Body()))))
			res.To().Params.Add("tag", "target")
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			res.AppendHeader(&sip.ContactHeader{Address: tURI})
			invite, answer = req, res
			close(answered)
			_ = tx.Respond(res)
		})
	})
	// The target hangs up while the transferee is being re-INVITEd
	// (it answers slowly: a phone asking its media layer).
	targetBye := func() int {
		<-answered
		bye := sip.NewRequest(sip.BYE, invite.Contact().Address)
		from := answer.To().AsFrom()
		bye.AppendHeader(&from)
		to := invite.From().AsTo()
		bye.AppendHeader(&to)
		bye.AppendHeader(invite.CallID())
		bye.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.BYE})
		bye.AppendHeader(sip.NewHeader("Max-Forwards", "70"))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := tclient.Do(ctx, bye)
		if err != nil {
			return 0
		}
		return res.StatusCode
	}
	transferee := newFakePeer(t, func(r *sip.Request) (int, string) {
		if r.Method == sip.INVITE {
			byeCode <- targetBye()
			return 200, mirrorAnswer(string(r.Body()))
		}
		return 200, ""
	})
	transferor := newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" })
	close(listening)
	// c: transferee (A) and transferor (B).
	c, _ := callOn(t, b, rl, self, transferee, transferor)
	x, _ := c.legs(false)
	route := transferRoute{num: "2000", out: "2000", tgt: target{trunk: ipTrunk(t, "pbx", &fakePeer{uri: tURI})}}
	if err := c.blind(x, route, nil, nil); err != nil {
		t.Fatalf("blind transfer: %v", err)
	}
	select {
	case code := <-byeCode:
		if code != 200 {
			t.Fatalf("the target's BYE got %d, want 200", code)
		}
	case <-time.After(10 * time.Second): // a bound against a hang
		t.Fatal("the target never sent its BYE")
	}
	deadline := time.Now().Add(5 * time.Second) // a bound against a hang, not a timing
	for {
		for _, r := range transferee.requests() {
			if r.Method == sip.BYE {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the transferee was not hung up when the target hung up")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
