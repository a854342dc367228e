package registrar

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// FuzzRegister feeds whatever sipgo parses as a REGISTER to the registrar:
// it must answer every request with a final response and never panic,
// whatever the Contact, Expires, Path, Require and Authorization headers
// hold.
func FuzzRegister(f *testing.F) {
	seeds := []string{
		"Contact: <sip:u1000@192.0.2.10:5062>;expires=600\r\nExpires: 3600",
		"Contact: *\r\nExpires: 0",
		"Contact: <sip:a@b>;q=0.5, <sip:c@d>;q=1;+sip.instance=\"<urn:uuid:1>\";reg-id=1\r\nSupported: path, outbound\r\nPath: <sip:p1;lr>, <sip:p2;lr>",
		"Require: gruu\r\nContact: <sip:a@b>",
		"Authorization: Digest username=\"u1000\", realm=\"example.com\", nonce=\"x\", uri=\"sip:example.com\", response=\"0\"\r\nContact: <sip:a@b>",
		"Authorization: Digest username=\"u1000\", nc=zz\r\nContact: <sip:a@b>;expires=99999999999999999999",
		"m: <sip:a@b>;expires=-1\r\nk: outbound",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, extra string) {
		fx := newFixture(t)
		build := func(cseq int, lines string) *sip.Request {
			raw := "REGISTER sip:example.com SIP/2.0\r\n" +
				"Via: SIP/2.0/UDP 192.0.2.10:5062;branch=z9hG4bKfuzz;rport\r\n" +
				"From: <sip:u1000@example.com>;tag=abc\r\nTo: <sip:u1000@example.com>\r\n" +
				"Call-ID: fuzz\r\nCSeq: " + strconv.Itoa(cseq) + " REGISTER\r\n" + lines + "\r\nContent-Length: 0\r\n\r\n"
			msg, err := sip.ParseMessage([]byte(raw))
			if err != nil {
				return nil
			}
			req, ok := msg.(*sip.Request)
			if !ok || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
				return nil
			}
			req.SetSource("192.0.2.10:5062")
			req.SetTransport("UDP")
			return req
		}
		req := build(1, extra)
		if req == nil {
			return
		}
		res := fx.reg.register(context.Background(), req)
		if res == nil || res.StatusCode < 200 {
			t.Fatalf("no final response for %q", extra)
		}
		if res.StatusCode != 401 || strings.Contains(strings.ToLower(extra), "authorization") {
			return
		}
		// The same headers once more, authenticated, so the binding code
		// sees them too.
		auth := authorize(t, res, "u1000", "secret")
		if req = build(2, extra+"\r\n"+auth); req == nil {
			return
		}
		if res = fx.reg.register(context.Background(), req); res == nil || res.StatusCode < 200 {
			t.Fatalf("no final response for authenticated %q", extra)
		}
	})
}
