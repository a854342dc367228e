package b2bua

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/media/sdp"
)

// TestTransferTarget422: a transfer target on a trunk whose Min-SE (3600)
// is above the interval we ask for (1800, the default) answers 422; the
// transfer's INVITE goes again with Session-Expires and Min-SE 3600 (RFC
// 4028 §7.3), is answered, and the branch placeTransfer returns is that
// INVITE's: the target leg's timer then keeps 3600 as its Min-SE, which
// our refreshes carry (§7.4). Before, the transfer path passed the 422 on
// as its outcome.
func TestTransferTarget422(t *testing.T) {
	var mu sync.Mutex
	var invs []*sip.Request
	_, uri := listenUA(t, func(srv *sipgo.Server) {
		srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
			mu.Lock()
			invs = append(invs, req)
			mu.Unlock()
			if se, _, _ := sessionExpiresOf(req); se < 3600*time.Second {
				res := sip.NewResponseFromRequest(req, 422, "Session Interval Too Small", nil)
				res.AppendHeader(sip.NewHeader("Min-SE", "3600"))
				_ = tx.Respond(res)
				return
			}
			res := sip.NewResponseFromRequest(req, 200, "OK", []byte(mirrorAnswer(string(req.Body()))))
			res.To().Params.Add("tag", "target")
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			res.AppendHeader(sip.NewHeader("Session-Expires", "3600;refresher=uac"))
			res.AppendHeader(sip.NewHeader("Require", "timer"))
			_ = tx.Respond(res)
		})
		srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	})
	c, _ := testCall(t, newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" }))
	tr := ipTrunk(t, "pbx", &fakePeer{uri: uri})
	sd, _ := sdp.Parse([]byte(testSDP(int(c.media.A().LocalAddr().Port()), 1, "", 0, 8)))
	offer, _ := sd.Marshal()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	route := transferRoute{num: "2000", out: "2000", tgt: target{trunk: tr}}
	won, final, err := c.placeTransfer(ctx, route, caller{user: "u1000"}, offer, nil, nil, nil)
	if err != nil || won == nil || final.StatusCode != 200 {
		t.Fatalf("placeTransfer: %v %v, want the target answered after its 422", final, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(invs) != 2 || invs[1].CSeq().SeqNo != invs[0].CSeq().SeqNo+1 || invs[1].CallID().Value() != invs[0].CallID().Value() {
		t.Fatalf("target got %d INVITEs, want the first and, after its 422, the same call with the next CSeq", len(invs))
	}
	if se, _, _ := sessionExpiresOf(invs[1]); se != 3600*time.Second || minSEOf(invs[1]) != 3600*time.Second {
		t.Errorf("INVITE after the 422: Session-Expires %v, Min-SE %v; want 3600 s both", se, minSEOf(invs[1]))
	}
	lt := c.gw.timerConf().negotiateUAC(final, won.inv)
	var got string
	for _, h := range lt.reqHeaders() {
		if h.Name() == "Min-SE" {
			got = h.Value()
		}
	}
	if got != "3600" {
		t.Errorf("the target leg's refreshes carry Min-SE %q, want 3600 (the 422's, RFC 4028 §7.4)", got)
	}
}
