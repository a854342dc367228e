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
func TestBlindTargetListedBeforeResume(t *testing.T) {
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

	// The transferee answers its re-INVITE slowly (a phone asking its
	// media layer): the target hangs up meanwhile.
	transferee := newFakePeer(t, func(r *sip.Request) (int, string) {
		if r.Method == sip.INVITE {
			time.Sleep(3 * sip.T1)
			return 200, mirrorAnswer(string(r.Body()))
		}
		return 200, ""
	})
	transferor := newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" })

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
			_ = tx.Respond(res)
			close(answered)
		})
		srv.OnAck(func(*sip.Request, sip.ServerTransaction) {
			// The target hangs up as soon as its 2xx is ACKed.
			go func() {
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
					byeCode <- 0
					return
				}
				byeCode <- res.StatusCode
			}()
		})
	})
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
