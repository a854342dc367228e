package b2bua

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func parseRes(t *testing.T, raw string) *sip.Response {
	t.Helper()
	msg, err := sip.ParseMessage([]byte(strings.ReplaceAll(raw, "\n", "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	return msg.(*sip.Response)
}

// TestRelayedHeaders: a callee's final error reaches the caller with the
// headers that make it useful, rewritten where they would leak the far
// end (RFC 3261 §20.33, §20.43, §21.3, §21.4.15; RFC 4028 §6).
func TestRelayedHeaders(t *testing.T) {
	const head = "Via: SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1\nFrom: <sip:a@x>;tag=1\nTo: <sip:b@x>;tag=2\nCall-ID: c\nCSeq: 1 INVITE\n"
	tests := []struct {
		name, raw string
		status    int
		cause     Cause
		want      []string // Name: value, in order
	}{
		{"503 retry-after", "SIP/2.0 503 Service Unavailable\n" + head + "Retry-After: 120\nContent-Length: 0\n\n",
			503, CauseUnavailable, []string{"Retry-After: 120"}},
		{"302 contact", "SIP/2.0 302 Moved Temporarily\n" + head + "Contact: <sip:2001@10.0.0.5:5060>;q=0.5\nContent-Length: 0\n\n",
			302, CauseRejected, []string{"Contact: <sip:2001@gw.example.com>;q=0.5"}},
		{"302 contact without user dropped", "SIP/2.0 302 Moved Temporarily\n" + head + "Contact: <sip:10.0.0.5>\nContent-Length: 0\n\n",
			302, CauseRejected, nil},
		{"488 warning", "SIP/2.0 488 Not Acceptable Here\n" + head + "Warning: 305 pbx \"Incompatible media format\"\nContent-Length: 0\n\n",
			488, CauseRejected, []string{`Warning: 305 pbx "Incompatible media format"`}},
		{"420 unsupported", "SIP/2.0 420 Bad Extension\n" + head + "Unsupported: foo\nContent-Length: 0\n\n",
			420, CauseRejected, []string{"Unsupported: foo"}},
		{"422 min-se", "SIP/2.0 422 Session Interval Too Small\n" + head + "Min-SE: 3600\nContent-Length: 0\n\n",
			422, CauseRejected, []string{"Min-SE: 3600"}},
		{"486 no contact", "SIP/2.0 486 Busy Here\n" + head + "Contact: <sip:b@10.0.0.5>\nContent-Length: 0\n\n",
			486, CauseBusy, nil},
		{"480 Q.850 reason", "SIP/2.0 480 Temporarily Unavailable\n" + head + "Reason: Q.850;cause=18;text=\"No user responding\"\nReason: X;cause=1\nContent-Length: 0\n\n",
			480, CauseRejected, []string{`Reason: Q.850;cause=18;text="No user responding"`}},
	}
	b := &B2BUA{o: Options{Domain: "gw.example.com"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := classify(rejected(parseRes(t, tt.raw)))
			if o.Status != tt.status || o.Cause != tt.cause {
				t.Errorf("classify = %d %s, want %d %s", o.Status, o.Cause, tt.status, tt.cause)
			}
			var got []string
			for _, h := range b.relayOut(o.Headers) {
				got = append(got, h.Name()+": "+h.Value())
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("headers %q, want %q", got, tt.want)
			}
		})
	}
}
