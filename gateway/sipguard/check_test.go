package sipguard

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestCheckGolden runs Check over testdata/check/*.sip and compares the
// outcome ("ok METHOD" or "error: reason") with the .golden file beside it.
func TestCheckGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/check/*.sip")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sip")
		t.Run(name, func(t *testing.T) {
			msg, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			h, cerr := Check(msg)
			var got string
			if errors.Is(cerr, ErrMalformed) {
				got = "error: " + reasonOf(cerr) + "\n"
			} else if cerr != nil {
				got = "error: " + cerr.Error() + "\n"
			} else {
				got = "ok " + h.Method + "\n"
				if _, perr := sip.ParseMessage(msg[:h.Len()]); perr != nil {
					t.Errorf("Check accepted but sipgo failed: %v", perr)
				}
			}
			golden := strings.TrimSuffix(f, ".sip") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("got %q, want %q", got, want)
			}
			if strings.HasPrefix(name, "bad_") != (cerr != nil) {
				t.Errorf("bad_ files must fail and others pass; err=%v", cerr)
			}
		})
	}
}

func TestCheckCases(t *testing.T) {
	base := "OPTIONS sip:gw.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1\r\nTo: <sip:gw.example.com>\r\nFrom: <sip:a@example.com>;tag=1\r\nCall-ID: x1\r\nCSeq: 1 OPTIONS\r\n"
	cases := []struct {
		name, msg string
		ok        bool
		bodyLen   int
	}{
		{"minimal", base + "\r\n", true, 0},
		{"body without CL", base + "\r\nabc", true, 3},
		{"body longer than CL truncated", base + "Content-Length: 2\r\n\r\nabcd", true, 2},
		{"body shorter than CL", base + "Content-Length: 9\r\n\r\nabcd", false, 0},
		{"duplicate CL", base + "Content-Length: 0\r\nl: 0\r\n\r\n", false, 0},
		{"leading CRLF", "\r\n" + base + "\r\n", false, 0},
		{"no blank line", base, false, 0},
		{"response reason SIPx", "SIP/2.0 200 SIPx\r\nVia: SIP/2.0/UDP h;branch=1\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\n\r\n", false, 0},
		{"response", "SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP h;branch=1\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 INVITE\r\n\r\n", true, 0},
		{"contact star", base + "Contact: *\r\n\r\n", true, 0},
		{"contact name-addr list", base + "Contact: <sip:a@h1>;q=0.5, \"B, x\" <sip:b@h2>\r\n\r\n", true, 0},
		{"route addr-spec", base + "Route: sip:p1.example.com;lr\r\n\r\n", false, 0},
		{"via no params then comma", "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP a:5060, SIP/2.0/UDP b\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\n\r\n", false, 0},
		{"escaped quote", base + "Contact: \"a\\\"b\" <sip:x@y>\r\n\r\n", false, 0},
		{"control char", base + "Subject: a\x01b\r\n\r\n", false, 0},
		{"wildcard request uri", "OPTIONS * SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=1\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\n\r\n", false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := Check([]byte(c.msg))
			if (err == nil) != c.ok {
				t.Fatalf("Check: %v, want ok=%v", err, c.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("error %v does not wrap ErrMalformed", err)
				}
				return
			}
			if h.BodyLen != c.bodyLen {
				t.Errorf("BodyLen %d, want %d", h.BodyLen, c.bodyLen)
			}
			if _, err := sip.ParseMessage([]byte(c.msg)[:h.Len()]); err != nil {
				t.Errorf("sipgo: %v", err)
			}
		})
	}
	if _, err := Check(make([]byte, MaxSIPMessage+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversize: %v", err)
	}
}

// seedCorpus adds the testdata messages and the RFC 4475 torture messages
// (testdata/torture, see its README).
func seedCorpus(f *testing.F) {
	files, _ := filepath.Glob("testdata/check/*.sip")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
	files, _ = filepath.Glob("testdata/torture/*.sip")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			f.Add(b)
		}
	}
}

// FuzzCheck asserts Check never panics and that its Head is consistent.
func FuzzCheck(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		h, err := Check(msg)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) &&
				!errors.Is(err, ErrUnsupportedScheme) && !errors.Is(err, ErrVersionNotSupported) {
				t.Fatalf("unexpected error type %v", err)
			}
			return
		}
		if h.Len() > len(msg) || h.HeaderLen <= 0 {
			t.Fatalf("bad head %+v for len %d", h, len(msg))
		}
		if !bytes.HasSuffix(msg[:h.HeaderLen], []byte("\r\n\r\n")) {
			t.Fatalf("HeaderLen does not end at the empty line")
		}
	})
}

// FuzzCheckAgainstSipgo is the differential target: whatever Check
// accepts, sipgo's parser must parse, both as a datagram and as a stream.
func FuzzCheckAgainstSipgo(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		h, err := Check(msg)
		if err != nil {
			return
		}
		m := msg[:h.Len()]
		parsed, err := sip.ParseMessage(m)
		if err != nil {
			t.Fatalf("Check accepted, sipgo failed: %v\n%q", err, m)
		}
		if req, ok := parsed.(*sip.Request); ok != h.IsRequest {
			t.Fatalf("request/response disagreement")
		} else if ok && req.Via() == nil {
			t.Fatalf("sipgo found no Via")
		}
		checkStream(t, m, h)
	})
}

// FuzzCheckCanonical: whatever CheckCanonical accepts (a message as sent
// or its canonical rewrite), sipgo parses, with the Call-ID and CSeq
// Check saw; and the rewrite is a fixed point: rewriting it again changes
// nothing.
func FuzzCheckCanonical(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		out, h, err := CheckCanonical(msg)
		if err != nil {
			return
		}
		m := out[:h.Len()]
		parsed, err := sip.ParseMessage(m)
		if err != nil {
			t.Fatalf("CheckCanonical accepted, sipgo failed: %v\n%q", err, m)
		}
		if parsed.CallID() == nil || parsed.CallID().Value() != h.CallID {
			t.Fatalf("Call-ID: sipgo %v, Check %q", parsed.CallID(), h.CallID)
		}
		if parsed.CSeq() == nil || parsed.CSeq().SeqNo != h.CSeq {
			t.Fatalf("CSeq: sipgo %v, Check %d", parsed.CSeq(), h.CSeq)
		}
		if req, ok := parsed.(*sip.Request); ok && req.Via() == nil {
			t.Fatalf("sipgo found no Via")
		}
		checkStream(t, m, h)
		if len(out) > 0 && &out[0] != &msg[0] {
			again, ok := Canonical(out)
			if !ok || !bytes.Equal(again, out) {
				t.Fatalf("Canonical is not idempotent:\n%q\n%q", out, again)
			}
		}
	})
}

// checkStream: sipgo's stream parser must take a message with a
// Content-Length as one message.
func checkStream(t *testing.T, m []byte, h Head) {
	t.Helper()
	if h.ContentLength < 0 {
		return
	}
	p := sip.NewParser().NewSIPStream()
	var got int
	if err := p.ParseSIPStream(m, func(sip.Message) { got++ }); err != nil || got != 1 {
		t.Fatalf("stream parse: %v (%d msgs)\n%q", err, got, m)
	}
}

func BenchmarkCheckRegister(b *testing.B) {
	msg, err := os.ReadFile("testdata/check/register.sip")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Check(msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSipgoParseRegister(b *testing.B) {
	msg, _ := os.ReadFile("testdata/check/register.sip")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sip.ParseMessage(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// TestValidValue: control octets pass only as quoted-pairs inside a closed
// quoted-string (RFC 3261 §25.1, RFC 4475 §3.1.1.2).
func TestValidValue(t *testing.T) {
	cases := []struct {
		v  string
		ok bool
	}{
		{`"BEL:\` + "\x07" + ` NUL:\` + "\x00" + ` DEL:\` + "\x7f" + `" <sip:a@b>`, true},
		{`plain text`, true},
		{"a\x01b", false},
		{`"a` + "\x01" + `b"`, false},      // not a quoted-pair
		{`"a\` + "\x01", false},            // never closed
		{`x"\` + "\x00" + `y`, false},      // an unmatched quote escapes nothing
		{`"a" \` + "\x00" + ` "b"`, false}, // outside the strings
		{`"a\"b" <sip:x@y>`, true},
	}
	for _, c := range cases {
		if got := validValue([]byte(c.v)); got != c.ok {
			t.Errorf("validValue(%q) = %v, want %v", c.v, got, c.ok)
		}
	}
}
