package sipguard

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestTortureFrontDoor runs the RFC 4475 messages in testdata/torture (see
// the README there) through CheckCanonical, the front door's verdict:
//
//	pass      handed to sipgo as sent
//	rewrite   handed to sipgo in canonical form (LWS and folding, §3.1.1.1)
//	400, 416, 505  answered by the guard with that status
//
// Messages that pass reach sipgo, which must parse them; the call logic's
// answers (401, 420, 501, ...) are checked end to end by lab/e2e
// TestTorture against the running binary.
func TestTortureFrontDoor(t *testing.T) {
	cases := []struct{ file, section, want string }{
		{"wsinv", "3.1.1.1", "rewrite"},
		{"intmeth", "3.1.1.2", "pass"},
		{"esc01", "3.1.1.3", "pass"},
		{"escnull", "3.1.1.4", "pass"},
		{"esc02", "3.1.1.5", "pass"},
		{"lwsdisp", "3.1.1.6", "pass"},
		{"longreq", "3.1.1.7", "pass"},
		{"dblreq", "3.1.1.8", "pass"},
		{"semiuri", "3.1.1.9", "pass"},
		{"transports", "3.1.1.10", "pass"},
		{"unreason", "3.1.1.12", "pass"},
		{"noreason", "3.1.1.13", "pass"},
		{"badinv01", "3.1.2.1", "400"},
		{"clerr", "3.1.2.2", "400"},
		{"ncl", "3.1.2.3", "400"},
		{"scalar02", "3.1.2.4", "400"},
		{"scalarlg", "3.1.2.5", "400"}, // a response: never answered
		{"quotbal", "3.1.2.6", "400"},
		{"ltgtruri", "3.1.2.7", "400"},
		{"lwsruri", "3.1.2.8", "400"},
		{"lwsstart", "3.1.2.9", "400"},
		{"trws", "3.1.2.10", "400"},
		{"escruri", "3.1.2.11", "pass"},
		{"baddate", "3.1.2.12", "pass"},
		{"regbadct", "3.1.2.13", "400"},
		{"badaspec", "3.1.2.14", "400"},
		{"baddn", "3.1.2.15", "400"},
		{"badvers", "3.1.2.16", "505"},
		{"mismatch01", "3.1.2.17", "400"},
		{"mismatch02", "3.1.2.18", "400"},
		{"bigcode", "3.1.2.19", "400"}, // a response: never answered
		{"badbranch", "3.2.1", "pass"},
		{"insuf", "3.3.1", "400"},
		{"unkscm", "3.3.2", "416"},
		{"novelsc", "3.3.3", "416"},
		{"unksm2", "3.3.4", "pass"},
		{"bext01", "3.3.5", "pass"},
		{"invut", "3.3.6", "pass"},
		{"regaut01", "3.3.7", "pass"},
		{"multi01", "3.3.8", "400"},
		{"mcl01", "3.3.9", "400"},
		{"bcast", "3.3.10", "pass"},
		{"zeromf", "3.3.11", "pass"},
		{"cparam01", "3.3.12", "pass"},
		{"cparam02", "3.3.13", "pass"},
		{"regescrt", "3.3.14", "pass"},
		{"sdp01", "3.3.15", "pass"},
		{"inv2543", "3.4.1", "pass"},
	}
	files, _ := filepath.Glob("testdata/torture/*.sip")
	known := map[string]bool{"ipv6": true} // RFC 5118, not RFC 4475
	for _, c := range cases {
		known[c.file] = true
	}
	for _, f := range files {
		if name := filepath.Base(f); !known[name[:len(name)-4]] {
			t.Errorf("%s has no case", f)
		}
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			msg, err := os.ReadFile(filepath.Join("testdata", "torture", c.file+".sip"))
			if err != nil {
				t.Fatal(err)
			}
			out, h, err := CheckCanonical(msg)
			var got string
			switch {
			case err == nil && len(out) == len(msg) && &out[0] == &msg[0]:
				got = "pass"
			case err == nil:
				got = "rewrite"
			case errors.Is(err, ErrUnsupportedScheme):
				got = "416"
			case errors.Is(err, ErrVersionNotSupported):
				got = "505"
			case errors.Is(err, ErrMalformed):
				got = "400"
			default:
				got = err.Error()
			}
			if got != c.want {
				t.Fatalf("RFC 4475 §%s: %s (%v), want %s", c.section, got, err, c.want)
			}
			if err != nil {
				code, _ := rejection(err)
				if want := map[string]int{"400": 400, "416": 416, "505": 505}[got]; code != want {
					t.Errorf("answered %d, want %d", code, want)
				}
				return
			}
			if _, err := sip.ParseMessage(out[:h.Len()]); err != nil {
				t.Errorf("RFC 4475 §%s: sipgo cannot parse what the guard passes: %v", c.section, err)
			}
		})
	}
}

// TestCanonicalWsinv pins the rewrite of RFC 4475 §3.1.1.1 against a
// golden file: what sipgo is handed for the short tortuous INVITE.
func TestCanonicalWsinv(t *testing.T) {
	msg, err := os.ReadFile("testdata/torture/wsinv.sip")
	if err != nil {
		t.Fatal(err)
	}
	out, ok := Canonical(msg)
	if !ok {
		t.Fatal("Canonical refused wsinv")
	}
	golden := "testdata/canonical/wsinv.golden"
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(want) {
		t.Errorf("canonical wsinv:\n%s\nwant:\n%s", out, want)
	}
	req, err := sip.ParseMessage(out)
	if err != nil {
		t.Fatal(err)
	}
	r := req.(*sip.Request)
	if tag, _ := r.From().Params.Get("tag"); tag != "98asjd8" {
		t.Errorf("From tag %q", tag)
	}
	if tag, _ := r.To().Params.Get("tag"); tag != "1918181833n" {
		t.Errorf("To tag %q", tag)
	}
	if v := r.Via(); v.Transport != "UDP" || v.Host != "192.0.2.2" {
		t.Errorf("top Via %v", v)
	}
	if n := len(r.GetHeaders("Via")); n != 3 {
		t.Errorf("%d Vias, want 3", n)
	}
	if c := r.CSeq(); c.SeqNo != 9 || c.MethodName != sip.INVITE {
		t.Errorf("CSeq %v", c)
	}
	if q, _ := r.Contact().Params.Get("q"); q != "0.33" {
		t.Errorf("Contact q %q", q)
	}
	if len(r.Body()) != 150 {
		t.Errorf("body %d bytes, want 150", len(r.Body()))
	}
}

func TestCanonicalCases(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Via : SIP / 2.0 / UDP  h ; branch = z9hG4bK1", "Via: SIP/2.0/UDP h;branch=z9hG4bK1"},
		{"v: SIP/2.0/UDP a;branch=1 ,SIP/2.0/TCP b;branch=2", "v: SIP/2.0/UDP a;branch=1, SIP/2.0/TCP b;branch=2"},
		{"From:  \"A  ; b\"   <sip:a@b ;x>  ;  tag = 1", "From: \"A  ; b\" <sip:a@b ;x>;tag=1"},
		{"X-Odd :  ;; ,, = ", "X-Odd: ;; ,, ="},
		{"CSeq:   7    INVITE", "CSeq: 7 INVITE"},
	}
	for _, c := range cases {
		msg := "OPTIONS sip:a@b SIP/2.0\r\n" + c.in + "\r\n\r\nbody"
		out, ok := Canonical([]byte(msg))
		want := "OPTIONS sip:a@b SIP/2.0\r\n" + c.want + "\r\n\r\nbody"
		if !ok || string(out) != want {
			t.Errorf("Canonical(%q) = %q, %v; want %q", c.in, out, ok, c.want)
		}
	}
	for _, bad := range []string{"OPTIONS sip:a@b SIP/2.0\r\n folded start\r\n\r\n", "OPTIONS sip:a@b SIP/2.0\r\nnocolon\r\n\r\n", "OPTIONS sip:a@b SIP/2.0\nVia: x\n\n"} {
		if _, ok := Canonical([]byte(bad)); ok {
			t.Errorf("Canonical(%q) accepted", bad)
		}
	}
}
