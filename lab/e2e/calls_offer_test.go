package e2e

// SDP offer/answer corners (issue 11): late offer (an INVITE without SDP,
// the answer in the ACK), multipart bodies, answers that add formats, a
// hold with no RTP, relay port exhaustion.

import (
	"context"
	"errors"
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
)

// offerPBX is a sipgo PBX at 127.0.0.2 that answers every INVITE with
// answer(offer, its RTP port) (answerFor by default) and records what it
// got.
type offerPBX struct {
	agent  *sipAgent
	ds     *sipgo.DialogServerCache
	rtp    *rtpPort
	answer func(offer string, port int) string

	mu     sync.Mutex
	offers []string // the INVITEs' bodies
	ctypes []string // their Content-Types
	relay  netip.AddrPort
	byes   chan *sip.Request
}

func newOfferPBX(t *testing.T, answer func(offer string, port int) string) *offerPBX {
	p := &offerPBX{rtp: newRTPPort(t, "127.0.0.2"), answer: answer, byes: make(chan *sip.Request, 4)}
	if p.answer == nil {
		p.answer = func(offer string, port int) string { return answerFor(offer, "127.0.0.2", port) }
	}
	p.agent = newSIPAgent(t, "127.0.0.2", func(a *sipAgent) {
		host, port, _ := net.SplitHostPort(a.addr)
		pn, _ := strconv.Atoi(port)
		p.ds = sipgo.NewDialogServerCache(a.client, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: host, Port: pn}})
		a.srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
			dlg, err := p.ds.ReadInvite(req, tx)
			if err != nil {
				return
			}
			offer := string(req.Body())
			ct := ""
			if h := req.GetHeader("Content-Type"); h != nil {
				ct = h.Value()
			}
			p.mu.Lock()
			p.offers = append(p.offers, offer)
			p.ctypes = append(p.ctypes, ct)
			if offer != "" {
				p.relay = sdpAddr(t, offer)
			}
			p.mu.Unlock()
			_ = dlg.Respond(180, "Ringing", nil)
			_ = dlg.Respond(200, "OK", []byte(p.answer(offer, p.rtp.port)), sip.NewHeader("Content-Type", "application/sdp"))
		})
		a.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = p.ds.ReadAck(req, tx) })
		a.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
			p.byes <- req
			_ = p.ds.ReadBye(req, tx)
		})
	})
	return p
}

func (p *offerPBX) lastOffer() (string, string, netip.AddrPort) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.offers) == 0 {
		return "", "", netip.AddrPort{}
	}
	return p.offers[len(p.offers)-1], p.ctypes[len(p.ctypes)-1], p.relay
}

// invite sends an INVITE with body (ctype its Content-Type; none when
// empty) from the phone to number and waits for the final response.
func (p *testPhone) invite(ctx context.Context, gw, number, ctype, body string) (*sipgo.DialogClientSession, error) {
	host, port, _ := net.SplitHostPort(gw)
	pn, _ := strconv.Atoi(port)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "u1000", Host: "example.com"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	hs := []sip.Header{from}
	if ctype != "" {
		hs = append(hs, sip.NewHeader("Content-Type", ctype))
	}
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	s, err := p.d.Invite(ctx, sip.Uri{Scheme: "sip", User: number, Host: host, Port: pn}, b, hs...)
	if err != nil {
		return nil, err
	}
	return s, s.WaitAnswer(ctx, answerOpts())
}

// ackWith ACKs the 2xx of s with body as application/sdp (none when empty).
func ackWith(ctx context.Context, t *testing.T, s *sipgo.DialogClientSession, body string) {
	t.Helper()
	ack := sip.NewRequest(sip.ACK, s.InviteResponse.Contact().Address)
	if body != "" {
		ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		ack.SetBody([]byte(body))
	}
	if err := s.WriteAck(ctx, ack); err != nil {
		t.Fatal(err)
	}
}

// TestLateOfferSIPp: a SIPp caller with a delayed offer (INVITE without
// SDP, answer in the ACK) through the gateway to a SIPp UAS that echoes
// RTP: every call completes and RTP flows both ways through the relay.
func TestLateOfferSIPp(t *testing.T) {
	uasPort := freeUDPPort(t, "127.0.0.2")
	startUAS(t, "call_uas.xml", uasPort, "-rtp_echo")
	g := startGateway(t, callsConfig(uasPort))
	const n = 3
	if out, err := runUAC(t, "call_uac_late_offer.xml", g.UDP, "2000", n); err != nil {
		t.Fatalf("sipp uac: %v\n%s\ngateway:\n%s", err, tail(out, 3000), tail(g.log.String(), 3000))
	}
	deadline := time.Now().Add(5 * time.Second)
	var ms [][]string
	for time.Now().Before(deadline) {
		if ms = reCallEnded.FindAllStringSubmatch(g.log.String(), -1); len(ms) >= n {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(ms) != n {
		t.Fatalf("%d calls ended, want %d\n%s", len(ms), n, tail(g.log.String(), 3000))
	}
	for _, m := range ms {
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		if a == 0 || b == 0 {
			t.Errorf("late-offer call without RTP both ways: caller→pbx %d, pbx→caller %d packets\n%s", a, b, tail(g.log.String(), 3000))
		}
	}
}

// TestLateOffer: a phone's INVITE without SDP gets, in the 200, the
// callee's answer to the gateway's own offer (the configured codecs, at
// the relay); the phone's answer in the ACK sets where the relay sends;
// RTP flows both ways.
func TestLateOffer(t *testing.T) {
	pbx := newOfferPBX(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := ph.invite(ctx, g.UDP, "2000", "", "")
	if err != nil {
		t.Fatalf("late offer: %v (status %d)\n%s", err, responseCode(err), g.log.String())
	}
	offer := string(s.InviteResponse.Body())
	if ct := s.InviteResponse.GetHeader("Content-Type"); ct == nil || ct.Value() != "application/sdp" || offer == "" {
		t.Fatalf("200 without an SDP offer:\n%s", s.InviteResponse)
	}
	pbxOffer, _, toPBX := pbx.lastOffer()
	for _, codec := range []string{"PCMU/8000", "PCMA/8000", "telephone-event/8000"} {
		if !strings.Contains(pbxOffer, codec) {
			t.Errorf("the gateway's offer to the PBX lacks %s:\n%s", codec, pbxOffer)
		}
	}
	ackWith(ctx, t, s, answerFor(offer, "127.0.0.1", rtp.port))
	toPhone := sdpAddr(t, offer)
	if n := flows(t, rtp, toPhone, pbx.rtp, 0); n < 15 {
		t.Errorf("%d/20 packets phone→PBX\n%s", n, g.log.String())
	}
	if n := flows(t, pbx.rtp, toPBX, rtp, 0); n < 15 {
		t.Errorf("%d/20 packets PBX→phone (the relay must send to the ACK's address)\n%s", n, g.log.String())
	}
	if err := s.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pbx.byes:
	case <-ctx.Done():
		t.Fatal("the PBX got no BYE")
	}
}

// TestLateOfferAckWithoutSDP: a late-offer caller whose ACK carries no
// answer cannot have media: both legs get a BYE with a Reason (RFC 3326).
func TestLateOfferAckWithoutSDP(t *testing.T) {
	pbx := newOfferPBX(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := ph.invite(ctx, g.UDP, "2000", "", "")
	if err != nil {
		t.Fatalf("late offer: %v (status %d)\n%s", err, responseCode(err), g.log.String())
	}
	ackWith(ctx, t, s, "")
	select {
	case bye := <-pbx.byes:
		r := bye.GetHeader("Reason")
		if r == nil || !strings.Contains(r.Value(), "cause=488") {
			t.Errorf("BYE to the PBX without Reason cause=488: %v", r)
		}
	case <-ctx.Done():
		t.Fatalf("the PBX got no BYE\n%s", g.log.String())
	}
	select {
	case <-ph.byes:
	case <-ctx.Done():
		t.Fatalf("the phone got no BYE\n%s", g.log.String())
	}
	g.waitLog(`cause=media_error`, 5*time.Second)
}

// TestMultipartOffer: an INVITE with multipart/mixed SDP + ISUP (SIP-T,
// RFC 5621) is a call: the SDP part is offered on; a body with no SDP
// (text/plain) gets 415 with Accept (RFC 3261 §21.4.13).
func TestMultipartOffer(t *testing.T) {
	pbx := newOfferPBX(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	sdpPart := mediaBody("127.0.0.1", rtp.port, "", 0, 101)
	body := "--unique-boundary-1\r\nContent-Type: application/sdp\r\n\r\n" + sdpPart +
		"\r\n--unique-boundary-1\r\nContent-Type: application/ISUP;version=nxv3;base=etsi121\r\nContent-Disposition: signal;handling=optional\r\n\r\n" +
		"\x01\x00\x49\x00\x00\x03\x02\x00\x07\x04\x10\x00\x33\x63\x21\x43\x00\x00\x03" +
		"\r\n--unique-boundary-1--\r\n"
	s, err := ph.invite(ctx, g.UDP, "2000", "multipart/mixed;boundary=unique-boundary-1", body)
	if err != nil {
		t.Fatalf("multipart INVITE: %v (status %d)\n%s", err, responseCode(err), g.log.String())
	}
	if err := s.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	offer, ct, toPBX := pbx.lastOffer()
	if ct != "application/sdp" || !strings.HasPrefix(offer, "v=0") {
		t.Errorf("the PBX got %q:\n%s", ct, offer)
	}
	if n := flows(t, pbx.rtp, toPBX, rtp, 0); n < 15 {
		t.Errorf("%d/20 packets PBX→phone\n%s", n, g.log.String())
	}
	if err := s.Bye(ctx); err != nil {
		t.Fatal(err)
	}

	_, err = ph.invite(ctx, g.UDP, "2000", "text/plain", "hello")
	if code := responseCode(err); code != 415 {
		t.Fatalf("text/plain INVITE: %v, want 415\n%s", err, g.log.String())
	}
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) {
		if a := de.Res.GetHeader("Accept"); a == nil || !strings.Contains(a.Value(), "application/sdp") {
			t.Errorf("415 without Accept: application/sdp:\n%s", de.Res)
		}
	}
}

// TestAnswerAddsFormat: a PBX that answers with formats the offer did not
// list (PCMA and CN besides the PCMU offered) keeps the call: the phone
// gets an answer with PCMU only, and RTP flows both ways.
func TestAnswerAddsFormat(t *testing.T) {
	pbx := newOfferPBX(t, func(_ string, port int) string {
		// PCMA and CN (13) besides the PCMU offered.
		return strings.Replace(mediaBody("127.0.0.2", port, "", 0, 8), "RTP/AVP 0 8", "RTP/AVP 0 8 13", 1) + "a=rtpmap:13 CN/8000\r\n"
	})
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := ph.invite(ctx, g.UDP, "2000", "application/sdp", mediaBody("127.0.0.1", rtp.port, "", 0, 101))
	if err != nil {
		t.Fatalf("call: %v (status %d)\n%s", err, responseCode(err), g.log.String())
	}
	if err := s.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	ans := string(s.InviteResponse.Body())
	if f := sdpFormats(ans); len(f) != 1 || f[0] != "0" {
		t.Errorf("answer formats %v, want [0] (PCMA and CN were never offered)\n%s", f, ans)
	}
	if strings.Contains(ans, "CN/8000") || strings.Contains(ans, "PCMA") {
		t.Errorf("answer keeps a format not offered:\n%s", ans)
	}
	_, _, toPBX := pbx.lastOffer()
	if n := flows(t, rtp, sdpAddr(t, ans), pbx.rtp, 0); n < 15 {
		t.Errorf("%d/20 packets phone→PBX", n)
	}
	if n := flows(t, pbx.rtp, toPBX, rtp, 0); n < 15 {
		t.Errorf("%d/20 packets PBX→phone", n)
	}
	g.waitLog(`answer lists formats not offered`, 5*time.Second)
	_ = s.Bye(ctx)
}

// TestHoldOutlastsMediaTimeout: the phone holds (sendonly), the PBX
// answers recvonly, and nobody sends RTP for longer than media.timeout:
// the call stays up (the hold timeout applies), and ends when the phone
// hangs up.
func TestHoldOutlastsMediaTimeout(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr)+"media: {timeout: 1s}\n")
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0, 101))
	fc := pbx.get("2000")
	res := inDialog(ctx, t, s, sip.INVITE, "application/sdp", withVersion(mediaBody("127.0.0.1", rtp.port, "sendonly", 0, 101), 2))
	if res.StatusCode != 200 || sdpDir(string(res.Body())) != "recvonly" {
		t.Fatalf("hold: %d %s\n%s", res.StatusCode, res.Reason, res.Body())
	}
	// No RTP either way for three media timeouts.
	select {
	case user := <-pbx.byes:
		t.Fatalf("held call to %s hung up by the media timeout\n%s", user, g.log.String())
	case <-ph.byes:
		t.Fatalf("held call hung up by the media timeout\n%s", g.log.String())
	case <-time.After(3500 * time.Millisecond):
	}
	// Resume: the call is still there, and media flows.
	res = inDialog(ctx, t, s, sip.INVITE, "application/sdp", withVersion(mediaBody("127.0.0.1", rtp.port, "", 0, 101), 3))
	if res.StatusCode != 200 {
		t.Fatalf("resume: %d %s", res.StatusCode, res.Reason)
	}
	if n := flows(t, fc.rtp, fc.relayAddr(), rtp, 0); n < 15 {
		t.Errorf("after resume: %d/20 packets PBX→phone", n)
	}
	if err := s.Bye(ctx); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(g.log.String(), "cause=media_timeout") {
		t.Errorf("media timeout during the hold:\n%s", g.log.String())
	}
}

// TestRelayPortsExhausted: with the relay's ports all taken by one call,
// the next call gets 503 with Retry-After (RFC 3261 §21.5.4), not 500.
func TestRelayPortsExhausted(t *testing.T) {
	pbx := newOfferPBX(t, nil)
	base := freeMediaRange(t, 4)
	g := startGateway(t, dialogConfig(pbx.agent.addr)+fmt.Sprintf("media: {port_min: %d, port_max: %d}\n", base, base+3))
	ph := newTestPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0))
	_, err := ph.invite(ctx, g.UDP, "2001", "application/sdp", mediaBody("127.0.0.1", rtp.port+2, "", 0))
	if code := responseCode(err); code != 503 {
		t.Fatalf("second call: %v, want 503\n%s", err, g.log.String())
	}
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) {
		if ra := de.Res.GetHeader("Retry-After"); ra == nil {
			t.Errorf("503 without Retry-After:\n%s", de.Res)
		}
	}
	_ = s.Bye(ctx)
}
