package capture

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestScanHead(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		ok         bool
		want       Head
	}{
		{"request", "INVITE sip:a@b SIP/2.0\r\nv: SIP/2.0/tls h;branch=z9hG4bK1\r\ni: abc@h\r\nf: <sip:x@y>;tag=1\r\nt: \"B\" <sip:a@b;user=phone>\r\nCSeq: 7 INVITE\r\n\r\nbody: x\r\n", true,
			Head{Method: "INVITE", CallID: "abc@h", CSeq: 7, CSeqMethod: "INVITE", From: "<sip:x@y>;tag=1", To: `"B" <sip:a@b;user=phone>`, ViaTransport: "TLS"}},
		{"response", "SIP/2.0 180 Ringing\r\nCALL-ID: x\r\nTo: <sip:a@b>;tag=9\r\ncseq: 2 BYE\r\n\r\n", true,
			Head{Status: 180, Reason: "Ringing", CallID: "x", To: "<sip:a@b>;tag=9", ToTag: true, CSeq: 2, CSeqMethod: "BYE"}},
		{"repeated Call-ID: the last, as sipgo", "BYE sip:a@b SIP/2.0\r\nCall-ID: first\r\ni: second\r\nCSeq: 1 BYE\r\nCSeq: 2 BYE\r\n\r\n", true,
			Head{Method: "BYE", CallID: "second", CSeq: 2, CSeqMethod: "BYE"}},
		{"CSeq with a tab (LWS, RFC 3261 §20.16)", "SIP/2.0 100 Trying\r\nCSeq: 3\tINVITE\r\n\r\n", true,
			Head{Status: 100, Reason: "Trying", CSeq: 3, CSeqMethod: "INVITE"}},
		{"keepalive", "\r\n\r\n", false, Head{}},
		{"lowercase method", "invite sip:a@b SIP/2.0\r\n\r\n", false, Head{}},
		{"bad status", "SIP/2.0 99 x\r\n\r\n", false, Head{}},
		{"http", "GET / HTTP/1.1\r\n\r\n", false, Head{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, ok := ScanHead([]byte(tc.text))
			if ok != tc.ok || h != tc.want {
				t.Errorf("ScanHead = %+v, %v\nwant %+v, %v", h, ok, tc.want, tc.ok)
			}
		})
	}
}

// FuzzScanHead holds ScanHead to sipgo's parser: whatever sipgo parses as
// a message, ScanHead reads the same start line, Call-ID and CSeq from.
func FuzzScanHead(f *testing.F) {
	f.Add("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: abc\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
	f.Add("SIP/2.0 200 OK\r\ni: x\r\nt: <sip:a@b>;tag=2\r\nCSeq: 4 BYE\r\nl: 0\r\n\r\n")
	f.Fuzz(func(t *testing.T, text string) {
		h, ok := ScanHead([]byte(text))
		// The Tap's reading, whose strings point into its copy, is the same.
		if a, aok := scanHeadOf([]byte(text)); a != h || aok != ok {
			t.Fatalf("scanHeadOf = %+v, %v; ScanHead = %+v, %v", a, aok, h, ok)
		}
		msg, err := sip.ParseMessage([]byte(text))
		if err != nil || !ok {
			return
		}
		want := HeadOf(msg)
		if h.Method != want.Method || h.Status != want.Status {
			t.Fatalf("start line: scanned %q/%d, sipgo %q/%d", h.Method, h.Status, want.Method, want.Status)
		}
		// sipgo keeps the last Call-ID and CSeq it finds (a repeated one
		// replaces the one it read), as ScanHead does; it trims values as
		// ScanHead does.
		if msg.CallID() != nil && h.CallID != strings.TrimSpace(want.CallID) {
			t.Fatalf("Call-ID: scanned %q, sipgo %q", h.CallID, want.CallID)
		}
		if msg.CSeq() != nil && (h.CSeq != want.CSeq || h.CSeqMethod != strings.TrimSpace(want.CSeqMethod)) {
			t.Fatalf("CSeq: scanned %d %q, sipgo %d %q", h.CSeq, h.CSeqMethod, want.CSeq, want.CSeqMethod)
		}
	})
}

func TestHasTag(t *testing.T) {
	for v, want := range map[string]bool{
		"<sip:a@b>":                  false,
		"<sip:a@b>;tag=1":            true,
		"<sip:a@b;tag=x>":            false, // the URI's parameter, not the header's
		"<sip:a@b>;x=1; TAG =2":      true,
		"sip:a@b;x=1":                false,
		"sip:a@b;tag=3":              true,
		`"A;tag=b" <sip:a@b>;tagx=1`: false,
		"<sip:a@b>;;tag":             true,
		"":                           false,
	} {
		if got := hasTag(v); got != want {
			t.Errorf("hasTag(%q) = %v, want %v", v, got, want)
		}
	}
}
