package b2bua

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
	"github.com/switchboard-gw/switchboard/gateway/store"
	"github.com/switchboard-gw/switchboard/media/sdp"
)

// ipTrunk is a trunk named name whose one target is peer's address.
func ipTrunk(t *testing.T, name string, peer *fakePeer) *dnssrv.Trunk {
	t.Helper()
	res, err := dnssrv.NewResolver(dnssrv.Options{Servers: []string{"127.0.0.1:1"}, // unused: an IP target needs no DNS
		Transports: []dnssrv.Transport{dnssrv.UDP}, IPv4Only: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = res.Close() })
	tr, err := dnssrv.NewTrunk(dnssrv.TrunkOptions{Name: name, Target: hostPort(peer.uri), Timeout: 5 * time.Second}, res)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	return tr
}

// TestTransferInviteToTrunk: a blind transfer to a number on a trunk
// sends the INVITE call setup sends (newInviteB): the trunk's domain in
// the Request-URI and To (trunks[].domain), the transferee presented as
// the trunk's settings say (From, P-Asserted-Identity, RFC 3325 §9.1),
// our Via branch (loop.go), PRACK in Allow beside Supported: 100rel
// (RFC 3262). The transfer's own INVITE builder had drifted: our domain
// everywhere (the Request-URI host rewritten to the server's address),
// no asserted identity, no PRACK in Allow.
func TestTransferInviteToTrunk(t *testing.T) {
	pbx := newFakePeer(t, func(r *sip.Request) (int, string) { return 200, mirrorAnswer(string(r.Body())) })
	c, _ := testCall(t, newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" }))
	tr := ipTrunk(t, "pbx", pbx)
	c.gw.o.TrunkSettings = map[string]TrunkSettings{"pbx": {Domain: "pbx.example.net", AssertIdentity: true}}
	c.gw.o.Profile = func(u string) (UserProfile, bool) { return UserProfile{DisplayName: "Alice"}, u == "u1000" }

	sd, _ := sdp.Parse([]byte(testSDP(int(c.media.A().LocalAddr().Port()), 1, "", 0, 8)))
	offer, _ := sd.Marshal()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	route := transferRoute{num: "2000", out: "2000", tgt: target{trunk: tr}}
	z, final, err := c.placeTransfer(ctx, route, caller{user: "u1000"}, offer, nil, nil, nil)
	if err != nil || z == nil || final.StatusCode != 200 {
		t.Fatalf("placeTransfer: %v %v %v, want the answered dialog", z, final, err)
	}
	var inv *sip.Request
	for _, r := range pbx.requests() {
		if r.Method == sip.INVITE {
			inv = r
			break
		}
	}
	if inv == nil {
		t.Fatal("the trunk got no INVITE")
	}
	if h := inv.Recipient.Host; h != "pbx.example.net" || inv.Recipient.User != "2000" {
		t.Errorf("Request-URI %s, want sip:2000@pbx.example.net", inv.Recipient.String())
	}
	if h := inv.To().Address.Host; h != "pbx.example.net" {
		t.Errorf("To host %q, want the trunk's domain", h)
	}
	if f := inv.From(); f.Address.User != "u1000" || f.Address.Host != "pbx.example.net" || f.DisplayName != "Alice" {
		t.Errorf("From %s, want \"Alice\" <sip:u1000@pbx.example.net>", f.Value())
	}
	if h := inv.GetHeader("P-Asserted-Identity"); h == nil || !strings.Contains(h.Value(), "sip:u1000@pbx.example.net") {
		t.Errorf("P-Asserted-Identity %v, want the transferee's identity", h)
	}
	if br, _ := inv.Via().Params.Get("branch"); !c.gw.ourBranch(br) {
		t.Errorf("Via branch %q is not one of ours (loop detection)", br)
	}
	if !allows(inv, sip.PRACK) || !hasOption(inv, "Supported", "100rel") {
		t.Errorf("Allow %v, Supported %v: want PRACK allowed beside 100rel", inv.GetHeader("Allow"), inv.GetHeader("Supported"))
	}
}

// TestTransferTargetLostAck: the 2xx of a transfer target on a trunk is
// ACKed again when it comes again (our ACK was lost, RFC 3261
// §13.2.2.4): the INVITE's client transaction stays with the OnRetransmission
// hook, as call setup's does (fork.go). The transfer's own path ended
// the transaction at the first 2xx: the retransmission went unanswered
// (and, at the gateway, to the stray path, which BYEs a Call-ID of ours
// not yet listed as a dialog), and the target hung up after 64*T1.
func TestTransferTargetLostAck(t *testing.T) {
	var mu sync.Mutex
	var acks, byes int
	_, uri := listenUA(t, func(srv *sipgo.Server) {
		srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
			res := sip.NewResponseFromRequest(req, 200, "OK", []byte(mirrorAnswer(string(req.Body()))))
			res.To().Params.Add("tag", "target")
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			_ = tx.Respond(res)
			go func() {
				time.Sleep(300 * time.Millisecond) // as if our first ACK was lost
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
	c, _ := testCall(t, newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" }))
	tr := ipTrunk(t, "pbx", &fakePeer{uri: uri})
	sd, _ := sdp.Parse([]byte(testSDP(int(c.media.A().LocalAddr().Port()), 1, "", 0, 8)))
	offer, _ := sd.Marshal()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	route := transferRoute{num: "2000", out: "2000", tgt: target{trunk: tr}}
	if _, final, err := c.placeTransfer(ctx, route, caller{user: "u1000"}, offer, nil, nil, nil); err != nil {
		t.Fatalf("placeTransfer: %v %v", final, err)
	}
	deadline := time.Now().Add(5 * time.Second) // a bound against a hang, not a timing
	for {
		mu.Lock()
		a, b := acks, byes
		mu.Unlock()
		if a >= 2 || time.Now().After(deadline) {
			if a < 2 || b != 0 {
				t.Fatalf("target got %d ACKs and %d BYEs, want the retransmitted 2xx ACKed again and no BYE", a, b)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTransferTargetReliableEarlyMedia: a transfer target that sends a
// reliable 183 with SDP (RFC 3262) is PRACKed and its early media reaches
// the transferee, while other calls ring (their early dialogs listed for
// PRACK and early UPDATE). The transfer's own call has no caller side:
// taking the 183 as a ringing call's early answer dereferenced it.
func TestTransferTargetReliableEarlyMedia(t *testing.T) {
	for _, to := range []string{"trunk", "device"} {
		t.Run(to, func(t *testing.T) { transferReliableEarly(t, to) })
	}
}

func transferReliableEarly(t *testing.T, to string) {
	var mu sync.Mutex
	var pracks int
	_, uri := listenUA(t, func(srv *sipgo.Server) {
		srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
			answer := []byte(mirrorAnswer(string(req.Body())))
			early := sip.NewResponseFromRequest(req, 183, "Session Progress", answer)
			early.To().Params.Add("tag", "target")
			early.AppendHeader(sip.NewHeader("Require", "100rel"))
			early.AppendHeader(sip.NewHeader("RSeq", "1"))
			early.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			_ = tx.Respond(early)
			time.Sleep(200 * time.Millisecond)
			res := sip.NewResponseFromRequest(req, 200, "OK", answer)
			res.To().Params.Add("tag", "target")
			res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
			_ = tx.Respond(res)
		})
		srv.OnRequest(sip.PRACK, func(req *sip.Request, tx sip.ServerTransaction) {
			mu.Lock()
			pracks++
			mu.Unlock()
			_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		})
		srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	})
	c, _ := testCall(t, newFakePeer(t, func(*sip.Request) (int, string) { return 200, "" }))
	ringing := &call{gw: c.gw, a: &dialog{callID: "ringing", localTag: "x"}}
	c.gw.addEarly(ringing) // another call rings meanwhile
	x, _ := c.legs(false)
	z := x.taking(nil, sdp.NewOrigin())
	sd, offer, err := z.freshOffer([]byte(testSDP(30000, 1, "", 0, 8)))
	if err != nil {
		t.Fatal(err)
	}
	var heard bool
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	route := transferRoute{num: "2000", out: "2000", tgt: target{trunk: ipTrunk(t, "pbx", &fakePeer{uri: uri})}}
	if to == "device" {
		route.tgt = target{user: "u2000", contacts: []store.Binding{{ContactURI: "<sip:u2000@" + hostPort(uri) + ">", Transport: "udp"}}}
	}
	_, final, err := c.placeTransfer(ctx, route, caller{user: "u1000"}, offer, nil,
		func(r *sip.Response) bool { heard = heard || z.earlyMedia(sd, r); return heard }, nil)
	if err != nil {
		t.Fatalf("placeTransfer: %v %v", final, err)
	}
	if !heard {
		t.Error("the target's early media was not relayed")
	}
	mu.Lock()
	defer mu.Unlock()
	if pracks != 1 {
		t.Errorf("target got %d PRACKs, want 1 (RFC 3262 §4)", pracks)
	}
}
