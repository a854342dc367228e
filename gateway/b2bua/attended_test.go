package b2bua

import (
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/media/relay"
)

// TestAttendedTargetListedBeforeResume: in an attended transfer (RFC 5589
// §7) the party w that moves to the transferee's call is listed on it
// before the transferee is re-INVITEd: a 2xx of w's re-INVITE sent again
// (our ACK lost) meanwhile is ACKed on its dialog (RFC 3261 §13.2.2.4),
// not taken for a stray of a Call-ID of ours and hung up (stray.go). The
// transfer listed w only after the transferee answered its re-INVITE.
func TestAttendedTargetListedBeforeResume(t *testing.T) {
	var gw atomic.Pointer[B2BUA]
	stray := sip.WithTransactionLayerUnhandledResponseHandler(func(r *sip.Response) {
		if b := gw.Load(); b != nil {
			b.OnStrayResponse(r)
		}
	})
	client, self := listenUAWith(t, nil, sipgo.WithUserAgentTransactionLayerOptions(stray))
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

	ok := func(*sip.Request) (int, string) { return 200, "" }
	// The transferee answers its re-INVITE slowly (a phone asking its
	// media layer): longer than T1, when w's 2xx comes again.
	transferee := newFakePeer(t, func(r *sip.Request) (int, string) {
		if r.Method == sip.INVITE {
			time.Sleep(3 * sip.T1)
			return 200, mirrorAnswer(string(r.Body()))
		}
		return 200, ""
	})
	var mu sync.Mutex
	var acks, byes int
	_, wURI := listenUA(t, func(srv *sipgo.Server) {
		srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
			res := sip.NewResponseFromRequest(req, 200, "OK", []byte(mirrorAnswer(string(req.Body()))))
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			_ = tx.Respond(res)
			go func() {
				time.Sleep(sip.T1) // as if our ACK was lost
				_ = tx.Respond(res)
			}()
		})
		srv.OnAck(func(*sip.Request, sip.ServerTransaction) { mu.Lock(); acks++; mu.Unlock() })
		srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
			mu.Lock()
			byes++
			mu.Unlock()
			_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		})
	})
	// c: transferee (A) and transferor (B); c2: transferor (A) and w (B,
	// our INVITE: a Call-ID of ours).
	c, _ := callOn(t, b, rl, self, transferee, newFakePeer(t, ok))
	c2, _ := callOn(t, b, rl, self, newFakePeer(t, ok), &fakePeer{uri: wURI})
	b.removeDialogs(c2)
	c2.b.callID = b.newCallID()
	b.addDialogs(c2)

	x, _ := c.legs(false)
	r, _ := c2.legs(true)
	if err := c.attended(x, r); err != nil {
		t.Fatalf("attended transfer: %v", err)
	}
	if got := c.otherLeg(c.a); got != c2.b {
		t.Fatalf("the transferee's call goes on with %v, want w", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if acks < 2 || byes != 0 {
		t.Errorf("w got %d ACKs and %d BYEs, want its 2xx ACKed again and no BYE", acks, byes)
	}
}
