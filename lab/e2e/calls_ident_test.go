package e2e

// What the far end sees (issue 11): the callee's final responses relayed
// with the headers that make them useful, the caller's identity towards
// the PBX, Reason on BYE and CANCEL.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// scriptedPBX is a sipgo PBX at 127.0.0.2 whose answer to an INVITE is
// chosen per dialled number by answer; it records every INVITE.
type scriptedPBX struct {
	agent *sipAgent
	ds    *sipgo.DialogServerCache
	mu    sync.Mutex
	invs  []*sip.Request
	byes  chan *sip.Request
	// answer returns the final status and headers for an INVITE; 200
	// answers with SDP and keeps the dialog.
	answer func(req *sip.Request, n int) (int, []sip.Header)
	dlgs   chan *sipgo.DialogServerSession
}

func newScriptedPBX(t *testing.T, answer func(req *sip.Request, n int) (int, []sip.Header)) *scriptedPBX {
	p := &scriptedPBX{answer: answer, byes: make(chan *sip.Request, 8), dlgs: make(chan *sipgo.DialogServerSession, 8)}
	p.agent = newSIPAgent(t, "127.0.0.2", func(a *sipAgent) {
		host, port, _ := net.SplitHostPort(a.addr)
		var pn int
		fmt.Sscan(port, &pn)
		p.ds = sipgo.NewDialogServerCache(a.client, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: host, Port: pn}})
		a.srv.OnInvite(p.onInvite)
		a.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = p.ds.ReadAck(req, tx) })
		a.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
			p.byes <- req
			if err := p.ds.ReadBye(req, tx); err != nil {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
			}
		})
	})
	return p
}

func (p *scriptedPBX) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	p.mu.Lock()
	p.invs = append(p.invs, req)
	n := len(p.invs)
	p.mu.Unlock()
	code, hs := p.answer(req, n)
	if code != 200 {
		res := sip.NewResponseFromRequest(req, code, reasonPhrase(code), nil)
		for _, h := range hs {
			res.AppendHeader(h)
		}
		_ = tx.Respond(res)
		return
	}
	dlg, err := p.ds.ReadInvite(req, tx)
	if err != nil {
		return
	}
	hs = append(hs, sip.NewHeader("Content-Type", "application/sdp"))
	_ = dlg.Respond(200, "OK", []byte(pbxSDP), hs...)
	p.dlgs <- dlg
}

// invites returns the INVITEs received so far.
func (p *scriptedPBX) invites() []*sip.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*sip.Request(nil), p.invs...)
}

func reasonPhrase(code int) string {
	switch code {
	case 302:
		return "Moved Temporarily"
	case 420:
		return "Bad Extension"
	case 422:
		return "Session Interval Too Small"
	case 488:
		return "Not Acceptable Here"
	case 503:
		return "Service Unavailable"
	}
	return "Error"
}

// failedCall dials number from u1000 and returns the final error response.
func failedCall(t *testing.T, d *sipgo.DialogClientCache, gw, number string) *sip.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := call(ctx, d, gw, number, phoneSDP)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.WaitAnswer(ctx, answerOpts())
	var e *sipgo.ErrDialogResponse
	if !errors.As(err, &e) {
		t.Fatalf("call to %s: %v, want an error response", number, err)
	}
	return e.Res
}

// TestRelayedFinalResponses: a trunk's final errors reach the phone with
// what makes them useful: the Contact of a 302 (as the same user at our
// domain, so the phone's new call comes back through the gateway and its
// admission), the Warning of a 488, the Unsupported of a 420 and the
// Retry-After of a 503 (RFC 3261 §20.33, §20.43, §21.3; RFC 4028 §6).
// Before issue 11 only the status went back.
func TestRelayedFinalResponses(t *testing.T) {
	pbx := newScriptedPBX(t, func(req *sip.Request, _ int) (int, []sip.Header) {
		switch req.Recipient.User {
		case "2001":
			return 302, []sip.Header{&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "2005", Host: "10.9.9.9", Port: 5060}}}
		case "2002":
			return 488, []sip.Header{sip.NewHeader("Warning", `305 pbx "Incompatible media format"`)}
		case "2003":
			return 420, []sip.Header{sip.NewHeader("Unsupported", "foo")}
		}
		return 503, []sip.Header{sip.NewHeader("Retry-After", "120")}
	})
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	d := newPhone(t)

	res := failedCall(t, d, g.UDP, "2001")
	if ct := res.Contact(); res.StatusCode != 302 || ct == nil || ct.Address.User != "2005" || ct.Address.Host != "example.com" {
		t.Errorf("302: %d Contact %v, want 302 with sip:2005@example.com", res.StatusCode, ct)
	}
	res = failedCall(t, d, g.UDP, "2002")
	if h := res.GetHeader("Warning"); res.StatusCode != 488 || h == nil || !strings.Contains(h.Value(), "305 pbx") {
		t.Errorf("488: %d Warning %v, want the PBX's 305", res.StatusCode, h)
	}
	res = failedCall(t, d, g.UDP, "2003")
	if h := res.GetHeader("Unsupported"); res.StatusCode != 420 || h == nil || h.Value() != "foo" {
		t.Errorf("420: %d Unsupported %v, want foo", res.StatusCode, h)
	}
	res = failedCall(t, d, g.UDP, "2004")
	if h := res.GetHeader("Retry-After"); res.StatusCode != 503 || h == nil || h.Value() != "120" {
		t.Errorf("503: %d Retry-After %v, want 120", res.StatusCode, h)
	}
}
