package sdp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// TestNewOffer: a late offer of our own lists the codecs configured with
// static payload types where RFC 3551 has them, dynamic ones from 96,
// telephone-event with its events, and parses back as what it says.
func TestNewOffer(t *testing.T) {
	local := netip.MustParseAddrPort("192.0.2.10:40002")
	sd, err := NewOffer(DefaultCodecs, local, NewOrigin())
	if err != nil {
		t.Fatal(err)
	}
	out, err := sd.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out)
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	st, err := AudioStream(back)
	if err != nil {
		t.Fatal(err)
	}
	if st.RTP != local || st.Proto != "RTP/AVP" || st.Direction.String() != "sendrecv" {
		t.Errorf("stream %+v", st)
	}
	if got := strings.Join(back.MediaDescriptions[0].MediaName.Formats, " "); got != "0 8 9 18 96 97 98 13" {
		t.Errorf("formats %q", got)
	}
	for i, c := range st.Codecs {
		if !c.Matches(DefaultCodecs[i]) {
			t.Errorf("codec %d is %v, want %v", i, c, DefaultCodecs[i])
		}
	}
	if !strings.Contains(string(out), "a=fmtp:97 0-16") || !strings.Contains(string(out), "c=IN IP4 192.0.2.10") {
		t.Errorf("offer:\n%s", out)
	}
	// An answer to it checks against it.
	ans, err := Parse([]byte("v=0\r\no=- 2 2 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n" +
		"m=audio 5000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CheckAnswer(back, ans); err != nil {
		t.Errorf("answer: %v", err)
	}
	if _, err := NewOffer([]Codec{{Name: "telephone-event", ClockRate: 8000}}, local, nil); !errors.Is(err, ErrNoCommonCodec) {
		t.Errorf("events only: %v, want ErrNoCommonCodec", err)
	}
	six, err := NewOffer([]Codec{{Name: "PCMU", ClockRate: 8000}}, netip.MustParseAddrPort("[2001:db8::1]:40000"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := six.Marshal(); !strings.Contains(string(b), "c=IN IP6 2001:db8::1") {
		t.Errorf("IPv6 offer:\n%s", b)
	}
}
