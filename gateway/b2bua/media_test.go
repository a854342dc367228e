package b2bua

import (
	"net/netip"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/media/sdp"
)

// The relay learns each SDP with the source IP of the SIP message that
// carried it (its only other trusted media source besides the SDP's IP).
func TestRemoteOfSignallingSource(t *testing.T) {
	body := []byte("v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/AVP 0\r\n")
	sd, err := sdp.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sdp.AudioStream(sd)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		src  string
		want netip.Addr
	}{
		{"203.0.113.7:5060", netip.MustParseAddr("203.0.113.7")},
		{"[2001:db8::1]:5061", netip.MustParseAddr("2001:db8::1")},
		{"[::ffff:203.0.113.8]:5060", netip.MustParseAddr("203.0.113.8")},
		{"garbage", netip.Addr{}},
	} {
		req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", Host: "example.com"})
		req.SetSource(tt.src)
		r := remoteOf(st, req)
		if r.Signalling != tt.want {
			t.Errorf("source %q: signalling %v, want %v", tt.src, r.Signalling, tt.want)
		}
		if r.RTP != netip.MustParseAddrPort("192.0.2.10:4000") {
			t.Errorf("source %q: RTP %v", tt.src, r.RTP)
		}
	}
	if r := remoteOf(st, nil); r.Signalling.IsValid() {
		t.Errorf("no message: signalling %v", r.Signalling)
	}
}
