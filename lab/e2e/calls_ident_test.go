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
// admission), the Warning of a 488, the Unsupported of a 420, the Q.850
// Reason of a 480 (RFC 6432) and the Retry-After of a 503 (RFC 3261
// §20.33, §20.43, §21.3).
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
		case "2005":
			return 480, []sip.Header{sip.NewHeader("Reason", `Q.850;cause=18;text="No user responding"`)}
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
	res = failedCall(t, d, g.UDP, "2005")
	if h := res.GetHeader("Reason"); res.StatusCode != 480 || h == nil || !strings.HasPrefix(h.Value(), "Q.850;cause=18") {
		t.Errorf("480: %d Reason %v, want the PBX's Q.850 cause 18 (RFC 6432)", res.StatusCode, h)
	}
	res = failedCall(t, d, g.UDP, "2004")
	if h := res.GetHeader("Retry-After"); res.StatusCode != 503 || h == nil || h.Value() != "120" {
		t.Errorf("503: %d Retry-After %v, want 120", res.StatusCode, h)
	}
}

// identConfig is dialogConfig with the PBX's own domain, the caller's
// extension as From user and P-Asserted-Identity (trunks[].domain,
// trunks[].caller_id), and users with display names and extensions.
func identConfig(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
security: {trusted_callers: [127.0.0.0/8], exempt_sources: [127.0.0.0/8]}
users:
  - {username: u1000, password: secret, display_name: Alice Example, extension: "1000"}
  - {username: u1001, password: secret, display_name: Bob, extension: "1001"}
trunks:
  - name: pbx
    target: sip:127.0.0.2:%s
    probe: {interval: 0s}
    match: ["200x"]
    domain: pbx.example.net
    caller_id: {from_user: extension, assert_identity: true}
`, port)
}

// TestCallerIdentityTowardsPBX: the PBX sees the call as its own domain
// (Request-URI, To and From host: trunks[].domain, not its IP address),
// the caller's extension and display name in From, and a
// P-Asserted-Identity the gateway asserts (RFC 3325 §9.1); the one the
// phone forged is never passed on, nor its own display name.
func TestCallerIdentityTowardsPBX(t *testing.T) {
	pbx := newScriptedPBX(t, func(*sip.Request, int) (int, []sip.Header) { return 200, nil })
	g := startGateway(t, identConfig(pbx.agent.addr))
	ph := newTestPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := ph.dial(ctx, g.UDP, "2001", phoneSDP, sip.NewHeader("P-Asserted-Identity", "<sip:0999@evil.example>"))
	defer s.Close()
	invs := pbx.invites()
	if len(invs) != 1 {
		t.Fatalf("PBX got %d INVITEs, want 1", len(invs))
	}
	inv := invs[0]
	if inv.Recipient.Host != "pbx.example.net" || inv.Recipient.User != "2001" || inv.Recipient.Port != 0 {
		t.Errorf("Request-URI %s, want sip:2001@pbx.example.net", inv.Recipient.String())
	}
	if to := inv.To().Address; to.Host != "pbx.example.net" {
		t.Errorf("To %s, want host pbx.example.net", to.String())
	}
	from := inv.From()
	if from.Address.User != "1000" || from.Address.Host != "pbx.example.net" || from.DisplayName != "Alice Example" {
		t.Errorf("From %s, want \"Alice Example\" <sip:1000@pbx.example.net>", from.Value())
	}
	pais := inv.GetHeaders("P-Asserted-Identity")
	if len(pais) != 1 || !strings.Contains(pais[0].Value(), "<sip:1000@pbx.example.net>") || !strings.Contains(pais[0].Value(), "Alice Example") {
		t.Errorf("P-Asserted-Identity %v, want one: \"Alice Example\" <sip:1000@pbx.example.net>", pais)
	}
	if h := inv.GetHeader("Privacy"); h != nil {
		t.Errorf("Privacy %q on a call that asked for none", h.Value())
	}
	select {
	case dlg := <-pbx.dlgs:
		_ = agentBye(ctx, dlg, pbx.agent.addr)
	case <-time.After(5 * time.Second):
		t.Fatal("PBX dialog not up")
	}
}

// TestCallerPrivacyTowardsPBX: a phone asking for privacy (Privacy: id,
// RFC 3323/3325) is presented anonymous in From, with the asserted
// identity and Privacy: id for the trusted PBX.
func TestCallerPrivacyTowardsPBX(t *testing.T) {
	pbx := newScriptedPBX(t, func(*sip.Request, int) (int, []sip.Header) { return 503, nil })
	g := startGateway(t, identConfig(pbx.agent.addr))
	d := newPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	host, port, _ := net.SplitHostPort(g.UDP)
	var pn int
	fmt.Sscan(port, &pn)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "u1000", Host: "example.com"}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	s, err := d.Invite(ctx, sip.Uri{Scheme: "sip", User: "2002", Host: host, Port: pn}, []byte(phoneSDP),
		from, sip.NewHeader("Content-Type", "application/sdp"), sip.NewHeader("Privacy", "id"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_ = s.WaitAnswer(ctx, answerOpts())
	invs := pbx.invites()
	if len(invs) == 0 {
		t.Fatal("PBX got no INVITE")
	}
	inv := invs[0]
	if f := inv.From().Address; f.User != "anonymous" || f.Host != "anonymous.invalid" {
		t.Errorf("From %s, want sip:anonymous@anonymous.invalid", inv.From().Value())
	}
	if h := inv.GetHeader("Privacy"); h == nil || h.Value() != "id" {
		t.Errorf("Privacy %v, want id", h)
	}
	if h := inv.GetHeader("P-Asserted-Identity"); h == nil || !strings.Contains(h.Value(), "sip:1000@pbx.example.net") {
		t.Errorf("P-Asserted-Identity %v, want sip:1000@pbx.example.net", h)
	}
}

// TestInboundDisplayName: a call from the PBX reaches the phone with the
// PBX's display name for its caller, not a bare number.
func TestInboundDisplayName(t *testing.T) {
	// The trunk is known by its address (the port is not compared).
	g := startGateway(t, `registrar: {algorithms: [MD5, SHA-256]}
users:
  - {username: u1001, password: secret, display_name: Bob, extension: "1001"}
trunks:
  - {name: pbx, target: "sip:127.0.0.2:5060", probe: {interval: 0s}}
`)
	pbx := dialSIP(t, "udp", "127.0.0.2", g.UDP)
	phone := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	if res := phone.register("u1001", "secret"); res.Status != 200 {
		t.Fatalf("REGISTER: %d", res.Status)
	}
	body := pbxSDP
	inv := fmt.Sprintf("INVITE sip:1001@example.com SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: \"Reception Desk\" <sip:0441234567@pbx.example.net>;tag=%s\r\nTo: <sip:1001@example.com>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"+
		"Contact: <sip:pbx@%s>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		pbx.conn.LocalAddr(), randHex(8), randHex(4), randHex(8), pbx.conn.LocalAddr(), len(body), body)
	pbx.send(inv)
	_ = phone.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65536)
	for {
		n, err := phone.conn.Read(buf)
		if err != nil {
			t.Fatalf("phone got no INVITE: %v", err)
		}
		msg := string(buf[:n])
		if !strings.HasPrefix(msg, "INVITE ") {
			continue
		}
		var from string
		for _, l := range strings.Split(msg, "\r\n") {
			if name, v, ok := strings.Cut(l, ":"); ok && (strings.EqualFold(name, "From") || name == "f") {
				from = strings.TrimSpace(v)
			}
		}
		if !strings.HasPrefix(from, `"Reception Desk" <sip:0441234567@`) {
			t.Errorf("phone's From %q, want the PBX's display name \"Reception Desk\"", from)
		}
		phone.send(busyFor(msg))
		break
	}
}

// busyFor is a 486 answering the raw request msg.
func busyFor(msg string) string { return rawAnswer(msg, "486 Busy Here") }

// rawAnswer is a response with status ("486 Busy Here") to the raw
// request msg.
func rawAnswer(msg, status string) string {
	var b strings.Builder
	b.WriteString("SIP/2.0 " + status + "\r\n")
	head, _, _ := strings.Cut(msg, "\r\n\r\n")
	for _, l := range strings.Split(head, "\r\n")[1:] {
		name, _, _ := strings.Cut(l, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "via", "v", "from", "f", "call-id", "i", "cseq":
			b.WriteString(l + "\r\n")
		case "to", "t":
			b.WriteString(l + ";tag=" + randHex(4) + "\r\n")
		}
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.String()
}

// rawNext reads raw requests on c until one starts with method.
func rawNext(t *testing.T, c *sipConn, method string) string {
	t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65536)
	for {
		n, err := c.conn.Read(buf)
		if err != nil {
			t.Fatalf("no %s: %v", method, err)
		}
		if msg := string(buf[:n]); strings.HasPrefix(msg, method+" ") {
			return msg
		}
	}
}

// rawHeader is the first value of header name in the raw message msg.
func rawHeader(msg, name string) string {
	head, _, _ := strings.Cut(msg, "\r\n\r\n")
	for _, l := range strings.Split(head, "\r\n")[1:] {
		if n, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(n), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestReasonOnCancel: the PBX cancels a call to a phone with a Reason
// (RFC 3326; "call completed elsewhere" keeps phones from showing a
// missed call); the phone's CANCEL carries it.
func TestReasonOnCancel(t *testing.T) {
	g := startGateway(t, `registrar: {algorithms: [MD5, SHA-256]}
users:
  - {username: u1001, password: secret, extension: "1001"}
trunks:
  - {name: pbx, target: "sip:127.0.0.2:5060", probe: {interval: 0s}}
`)
	pbx := dialSIP(t, "udp", "127.0.0.2", g.UDP)
	phone := dialSIP(t, "udp", "127.0.0.1", g.UDP)
	if res := phone.register("u1001", "secret"); res.Status != 200 {
		t.Fatalf("REGISTER: %d", res.Status)
	}
	branch, tag, callID := "z9hG4bK"+randHex(8), randHex(4), randHex(8)
	head := fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:0441234567@pbx.example.net>;tag=%s\r\nTo: <sip:1001@example.com>\r\nCall-ID: %s\r\n",
		pbx.conn.LocalAddr(), branch, tag, callID)
	pbx.send(fmt.Sprintf("INVITE sip:1001@example.com SIP/2.0\r\n%sCSeq: 1 INVITE\r\nContact: <sip:pbx@%s>\r\n"+
		"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", head, pbx.conn.LocalAddr(), len(pbxSDP), pbxSDP))
	inv := rawNext(t, phone, "INVITE")
	phone.send(rawAnswer(inv, "180 Ringing"))
	for {
		res, err := pbx.read(5 * time.Second)
		if err != nil {
			t.Fatalf("PBX got no 180: %v", err)
		}
		if res.Status == 180 {
			break
		}
	}
	const reason = `SIP;cause=200;text="Call completed elsewhere"`
	pbx.send(fmt.Sprintf("CANCEL sip:1001@example.com SIP/2.0\r\n%sCSeq: 1 CANCEL\r\nReason: %s\r\nContent-Length: 0\r\n\r\n", head, reason))
	cancel := rawNext(t, phone, "CANCEL")
	if got := rawHeader(cancel, "Reason"); got != reason {
		t.Errorf("phone's CANCEL Reason %q, want %q", got, reason)
	}
	phone.send(rawAnswer(cancel, "200 OK"))
	phone.send(rawAnswer(inv, "487 Request Terminated"))
}

// reasonPhone is a sipgo phone at 127.0.0.1 (u1000) that records the BYEs
// it gets.
func reasonPhone(t *testing.T) (*sipgo.DialogClientCache, chan *sip.Request) {
	byes := make(chan *sip.Request, 4)
	var d *sipgo.DialogClientCache
	newSIPAgent(t, "127.0.0.1", func(a *sipAgent) {
		d = a.phone()
		a.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
			byes <- req
			if err := d.ReadBye(req, tx); err != nil {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
			}
		})
		a.srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		})
	})
	return d, byes
}

// TestReasonOnBye: a BYE's Reason (RFC 3326, Q.850 causes per RFC 6432)
// reaches the other leg's BYE, from the phone to the PBX and from the
// PBX to the phone.
func TestReasonOnBye(t *testing.T) {
	pbx := newScriptedPBX(t, func(*sip.Request, int) (int, []sip.Header) { return 200, nil })
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	d, byes := reasonPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func() *sipgo.DialogClientSession {
		s, err := call(ctx, d, g.UDP, "2001", phoneSDP)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.WaitAnswer(ctx, answerOpts()); err != nil {
			t.Fatal(err)
		}
		if err := s.Ack(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}

	// Phone → PBX.
	s := dial()
	<-pbx.dlgs
	const q850 = `Q.850;cause=16;text="Normal call clearing"`
	bye := sip.NewRequest(sip.BYE, s.InviteResponse.Contact().Address)
	bye.AppendHeader(sip.NewHeader("Reason", q850))
	if err := s.WriteBye(ctx, bye); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-pbx.byes:
		if h := r.GetHeader("Reason"); h == nil || h.Value() != q850 {
			t.Errorf("PBX's BYE Reason %v, want %s", h, q850)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("PBX got no BYE")
	}

	// PBX → phone.
	dial()
	var dlg *sipgo.DialogServerSession
	select {
	case dlg = <-pbx.dlgs:
	case <-time.After(5 * time.Second):
		t.Fatal("PBX dialog not up")
	}
	const sipReason = `SIP;cause=480;text="Callee gone"`
	bye = sip.NewRequest(sip.BYE, dlg.InviteRequest.Contact().Address)
	bye.SetTransport(dlg.InviteRequest.Transport())
	bye.AppendHeader(sip.NewHeader("Reason", sipReason))
	if err := dlg.WriteBye(ctx, fromAgent(pbx.agent.addr, bye)); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-byes:
		if h := r.GetHeader("Reason"); h == nil || h.Value() != sipReason {
			t.Errorf("phone's BYE Reason %v, want %s", h, sipReason)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("phone got no BYE")
	}
}

// TestReasonOnMediaTimeout: the BYEs the gateway sends when no RTP flowed
// for media.timeout say why (RFC 3326), on both legs.
func TestReasonOnMediaTimeout(t *testing.T) {
	pbx := newScriptedPBX(t, func(*sip.Request, int) (int, []sip.Header) { return 200, nil })
	g := startGateway(t, dialogConfig(pbx.agent.addr)+"media: {timeout: 2s}\n")
	d, byes := reasonPhone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := call(ctx, d, g.UDP, "2001", phoneSDP)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitAnswer(ctx, answerOpts()); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []chan *sip.Request{pbx.byes, byes} {
		select {
		case r := <-ch:
			if h := r.GetHeader("Reason"); h == nil || !strings.Contains(h.Value(), "media timeout") {
				t.Errorf("BYE Reason %v, want the media timeout", h)
			}
		case <-ctx.Done():
			t.Fatal("no BYE after the media timeout")
		}
	}
}

// answeredCall dials number from u1000, requires the answer and hangs up.
func answeredCall(t *testing.T, d *sipgo.DialogClientCache, gw, number string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := call(ctx, d, gw, number, phoneSDP)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.WaitAnswer(ctx, answerOpts()); err != nil {
		t.Fatalf("call to %s: %v", number, err)
	}
	_ = s.Ack(ctx)
	_ = s.Bye(ctx)
}

// TestSessionIntervalTooSmall: a trunk answering 422 with a Min-SE above
// our Session-Expires gets the INVITE again with that interval as
// Session-Expires and Min-SE (RFC 4028 §7.3), on the same Call-ID with
// the next CSeq, and the call is answered; before issue 11 the phone got
// the 422.
func TestSessionIntervalTooSmall(t *testing.T) {
	pbx := newScriptedPBX(t, func(req *sip.Request, n int) (int, []sip.Header) {
		if se := req.GetHeader("Session-Expires"); n == 1 || se == nil || se.Value() != "3600" {
			return 422, []sip.Header{sip.NewHeader("Min-SE", "3600")}
		}
		return 200, []sip.Header{sip.NewHeader("Session-Expires", "3600;refresher=uac"), sip.NewHeader("Require", "timer")}
	})
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	answeredCall(t, newPhone(t), g.UDP, "2001")
	invs := pbx.invites()
	if len(invs) != 2 {
		t.Fatalf("PBX got %d INVITEs, want 2", len(invs))
	}
	a, b := invs[0], invs[1]
	if a.CallID().Value() != b.CallID().Value() || b.CSeq().SeqNo != a.CSeq().SeqNo+1 {
		t.Errorf("retry: Call-ID %s CSeq %d after %s %d, want the same Call-ID and the next CSeq",
			b.CallID().Value(), b.CSeq().SeqNo, a.CallID().Value(), a.CSeq().SeqNo)
	}
	if h := b.GetHeader("Min-SE"); h == nil || h.Value() != "3600" {
		t.Errorf("retry Min-SE %v, want 3600", h)
	}
}

// redirectConfig is dialogConfig with the PBX's 3xx followed once, and
// CH numbering so that the admission classifies numbers.
func redirectConfig(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return fmt.Sprintf(`registrar: {algorithms: [MD5, SHA-256]}
numbering: {region: CH}
security: {trusted_callers: [127.0.0.0/8], exempt_sources: [127.0.0.0/8]}
trunks:
  - name: pbx
    target: sip:127.0.0.2:%s
    probe: {interval: 0s}
    match: ["200x", "0x"]
    follow_redirects: 2
`, port)
}

// TestRedirectFollowed: with trunks[].follow_redirects, a 302 from the
// PBX is followed by the gateway (RFC 3261 §8.1.3.4): the best Contact
// (highest q) is called and answers. A redirect to a number the caller's
// class may not call (international, call_policy) is refused as if
// dialled (403), and a redirect loop (the PBX sends the call back to a
// number already tried) ends with the 3xx relayed, not a loop.
func TestRedirectFollowed(t *testing.T) {
	pbx := newScriptedPBX(t, func(req *sip.Request, _ int) (int, []sip.Header) {
		redirect := func(users ...string) (int, []sip.Header) {
			var hs []sip.Header
			for i, u := range users {
				ct := &sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: u, Host: "10.9.9.9"}, Params: sip.NewParams()}
				ct.Params.Add("q", fmt.Sprintf("0.%d", 9-i))
				hs = append(hs, ct)
			}
			return 302, hs
		}
		switch req.Recipient.User {
		case "2001":
			return redirect("2005", "2006")
		case "2002":
			return redirect("0049301234567") // international
		case "2003":
			return redirect("2004")
		case "2004":
			return redirect("2003")
		case "2005":
			return 200, nil
		}
		return 404, nil
	})
	g := startGateway(t, redirectConfig(pbx.agent.addr))
	d := newPhone(t)

	answeredCall(t, d, g.UDP, "2001")
	var users []string
	for _, inv := range pbx.invites() {
		users = append(users, inv.Recipient.User)
	}
	if strings.Join(users, ",") != "2001,2005" {
		t.Errorf("PBX got INVITEs for %v, want 2001 then 2005 (the best Contact)", users)
	}
	if res := failedCall(t, d, g.UDP, "2002"); res.StatusCode != 403 {
		t.Errorf("redirect to an international number: %d, want 403 (class of service)", res.StatusCode)
	}
	for _, inv := range pbx.invites() {
		if inv.Recipient.User == "0049301234567" {
			t.Error("the redirect to an international number reached the trunk")
		}
	}
	if res := failedCall(t, d, g.UDP, "2003"); res.StatusCode != 302 {
		t.Errorf("redirect loop: %d, want the 302 relayed", res.StatusCode)
	}
}

// TestReasonOnTransfer: the BYE that ends the transferor's leg after its
// blind transfer completed says so (RFC 3326), so the phone does not log
// a dropped call.
func TestReasonOnTransfer(t *testing.T) {
	pbx := newFarEnd(t, nil)
	g := startGateway(t, dialogConfig(pbx.agent.addr))
	d, byes := reasonPhone(t)
	rtp := newRTPPort(t, "127.0.0.1")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := call(ctx, d, g.UDP, "2000", mediaBody("127.0.0.1", rtp.port, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WaitAnswer(ctx, answerOpts()); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	pbx.get("2000")
	res := inDialog(ctx, t, s, sip.REFER, "", "", sip.NewHeader("Refer-To", "<sip:2001@example.com>"))
	if res.StatusCode != 202 {
		t.Fatalf("REFER: %d %s", res.StatusCode, res.Reason)
	}
	pbx.get("2001")
	select {
	case r := <-byes:
		if h := r.GetHeader("Reason"); h == nil || !strings.Contains(h.Value(), "call transferred") {
			t.Errorf("transferor's BYE Reason %v, want the transfer", h)
		}
	case <-ctx.Done():
		t.Fatalf("the transferor got no BYE\n%s", g.log.String())
	}
}
