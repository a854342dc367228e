package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// tortureCase is one RFC 4475 message (gateway/sipguard/testdata/torture,
// see the README there) with the answer the RFC expects from an element
// like the gateway: an endpoint for OPTIONS and unknown methods, a
// registrar for REGISTER, a B2BUA for INVITE.
type tortureCase struct {
	file    string
	section string
	// want: "none" (no answer: a response, or an unanswerable request),
	// a list of acceptable final codes "400|505", or "!400" for any final
	// answer but 400 (a well-formed request whose outcome is the call
	// logic's business).
	want string
}

var tortureCases = []tortureCase{
	// §3.1.1: valid messages.
	{"wsinv", "3.1.1.1", "!400"},
	{"intmeth", "3.1.1.2", "501"},
	{"esc01", "3.1.1.3", "!400"},
	{"escnull", "3.1.1.4", "401"},
	{"esc02", "3.1.1.5", "501"},
	{"lwsdisp", "3.1.1.6", "200"},
	{"longreq", "3.1.1.7", "!400"},
	{"dblreq", "3.1.1.8", "401"},
	{"semiuri", "3.1.1.9", "200"},
	{"transports", "3.1.1.10", "200"},
	{"unreason", "3.1.1.12", "none"},
	{"noreason", "3.1.1.13", "none"},
	// §3.1.2: invalid messages.
	{"badinv01", "3.1.2.1", "400"},
	{"clerr", "3.1.2.2", "400"},
	{"ncl", "3.1.2.3", "400"},
	{"scalar02", "3.1.2.4", "400"},
	{"scalarlg", "3.1.2.5", "none"},
	{"quotbal", "3.1.2.6", "400"},
	{"ltgtruri", "3.1.2.7", "400"},
	{"lwsruri", "3.1.2.8", "400"},
	{"lwsstart", "3.1.2.9", "400"},
	{"trws", "3.1.2.10", "400"},
	{"escruri", "3.1.2.11", "!0"},
	{"baddate", "3.1.2.12", "!0"},
	{"regbadct", "3.1.2.13", "400"},
	{"badaspec", "3.1.2.14", "400"},
	{"baddn", "3.1.2.15", "400"},
	{"badvers", "3.1.2.16", "505"},
	{"mismatch01", "3.1.2.17", "400"},
	{"mismatch02", "3.1.2.18", "400|501"},
	{"bigcode", "3.1.2.19", "none"},
	// §3.2: transaction layer.
	{"badbranch", "3.2.1", "200|400"},
	// §3.3: application layer.
	{"insuf", "3.3.1", "400"},
	{"unkscm", "3.3.2", "416"},
	{"novelsc", "3.3.3", "416"},
	{"unksm2", "3.3.4", "400|404|416"},
	{"bext01", "3.3.5", "420"},
	{"invut", "3.3.6", "!0"},
	{"regaut01", "3.3.7", "401"},
	{"multi01", "3.3.8", "400"},
	{"mcl01", "3.3.9", "400"},
	{"bcast", "3.3.10", "none"},
	{"zeromf", "3.3.11", "200|483"},
	{"cparam01", "3.3.12", "401"},
	{"cparam02", "3.3.13", "401"},
	{"regescrt", "3.3.14", "401"},
	{"sdp01", "3.3.15", "!0"},
	// §3.4: backwards compatibility.
	{"inv2543", "3.4.1", "!0"},
}

// TestTorture sends each RFC 4475 torture message to the running gateway
// over UDP, byte for byte as the RFC has it, and checks the answer against
// the RFC's. The messages name example hosts in their Via, so the answers
// go to the source address and the Via port (RFC 3261 §18.2.2): the peer
// sits on 127.0.0.44:5060, an address of its own. Several Vias say TCP,
// TLS or SCTP: the answer still comes back over UDP, the transport the
// request came on (RFC 3261 §18.2.2).
func TestTorture(t *testing.T) {
	t.Parallel()
	g := startGateway(t, "")
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "gateway", "sipguard", "testdata", "torture")
	pc, err := net.ListenPacket("udp", "127.0.0.44:5060")
	if err != nil {
		t.Fatalf("listen on 127.0.0.44:5060: %v", err)
	}
	defer pc.Close()
	gw, err := net.ResolveUDPAddr("udp", g.UDP)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tortureCases {
		msg, err := os.ReadFile(filepath.Join(dir, tc.file+".sip"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.WriteTo(msg, gw); err != nil {
			t.Fatal(err)
		}
		wait := 3 * time.Second
		if tc.want == "none" {
			wait = 300 * time.Millisecond
		}
		code, raw := tortureAnswer(pc, msg, wait)
		if !tortureOK(tc.want, code) {
			t.Errorf("RFC 4475 §%s %s: got %d, want %s\n%s", tc.section, tc.file, code, tc.want, raw)
		} else {
			t.Logf("RFC 4475 §%s %s: %d", tc.section, tc.file, code)
		}
		if tc.file == "bext01" && code == 420 {
			if !strings.Contains(raw, "nothingSupportsThis, nothingSupportsThisEither") {
				t.Errorf("bext01: 420 without both tags in Unsupported:\n%s", raw)
			}
		}
		if tc.file == "regaut01" && code == 401 && !strings.Contains(raw, "Digest ") {
			t.Errorf("regaut01: 401 without a Digest challenge:\n%s", raw)
		}
	}
	// Over TCP the guard's stream path (CheckCanonical on a stream) must
	// give the same verdicts. A gateway of its own: the same branch and
	// sent-by would match the UDP transactions above (RFC 3261 §17.2.3),
	// which answer retransmissions where the original came from.
	g = startGateway(t, "")
	c := dialSIP(t, "tcp", "127.0.0.44", g.TCP)
	for _, tc := range []tortureCase{
		{"wsinv", "3.1.1.1", "!400"}, {"intmeth", "3.1.1.2", "501"}, {"badvers", "3.1.2.16", "505"},
		{"unkscm", "3.3.2", "416"}, {"novelsc", "3.3.3", "416"}, {"bext01", "3.3.5", "420"}, {"regaut01", "3.3.7", "401"},
	} {
		msg, err := os.ReadFile(filepath.Join(dir, tc.file+".sip"))
		if err != nil {
			t.Fatal(err)
		}
		c.send(string(msg))
		res := c.readFinal(tc.file)
		if !tortureOK(tc.want, res.Status) {
			t.Errorf("tcp: RFC 4475 §%s %s: got %d, want %s\n%s", tc.section, tc.file, res.Status, tc.want, res.Raw)
		}
	}
	g.requireAlive()
}

// tortureAnswer reads answers to req (matched by Call-ID) until a final one
// or until wait passes; it returns 0 when no final answer came.
func tortureAnswer(pc net.PacketConn, req []byte, wait time.Duration) (int, string) {
	callID := tortureCallID(string(req))
	deadline := time.Now().Add(wait)
	buf := make([]byte, 65536)
	for {
		_ = pc.SetReadDeadline(deadline)
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			return 0, ""
		}
		raw := string(buf[:n])
		if !strings.HasPrefix(raw, "SIP/2.0 ") || len(raw) < 11 {
			continue
		}
		if callID != "" && tortureCallID(raw) != callID {
			continue // a late answer to an earlier message
		}
		code, err := strconv.Atoi(raw[8:11])
		if err != nil || code < 200 {
			continue
		}
		return code, raw
	}
}

// tortureCallID returns the Call-ID (or i) header value of msg.
func tortureCallID(msg string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		name, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		if n := strings.ToLower(strings.TrimSpace(name)); n == "call-id" || n == "i" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func tortureOK(want string, code int) bool {
	switch {
	case want == "none":
		return code == 0
	case strings.HasPrefix(want, "!"):
		not, _ := strconv.Atoi(want[1:])
		return code != 0 && code != not
	}
	for _, w := range strings.Split(want, "|") {
		if n, _ := strconv.Atoi(w); n == code {
			return true
		}
	}
	return false
}
