package sdp

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

const heldOffer = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\na=recvonly\r\n" +
	"m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendonly\r\n"

func TestSetDirection(t *testing.T) {
	for _, d := range []sdp.Direction{sdp.DirectionSendRecv, sdp.DirectionInactive, sdp.DirectionRecvOnly} {
		sd, err := Parse([]byte(heldOffer))
		if err != nil {
			t.Fatal(err)
		}
		if err := SetDirection(sd, d); err != nil {
			t.Fatal(err)
		}
		st, err := AudioStream(sd)
		if err != nil {
			t.Fatal(err)
		}
		if st.Direction != d {
			t.Errorf("SetDirection(%s): stream says %s", d, st.Direction)
		}
		out, _ := sd.Marshal()
		if n := strings.Count(string(out), "a="+d.String()); n != 1 {
			t.Errorf("SetDirection(%s): %d direction lines:\n%s", d, n, out)
		}
		for _, other := range []string{"a=sendonly", "a=recvonly", "a=inactive"} {
			if other != "a="+d.String() && strings.Contains(string(out), other) {
				t.Errorf("SetDirection(%s) left %s", d, other)
			}
		}
	}
}

func TestMirror(t *testing.T) {
	for in, want := range map[sdp.Direction]sdp.Direction{
		sdp.DirectionSendOnly: sdp.DirectionRecvOnly,
		sdp.DirectionRecvOnly: sdp.DirectionSendOnly,
		sdp.DirectionInactive: sdp.DirectionInactive,
		sdp.DirectionSendRecv: sdp.DirectionSendRecv,
	} {
		if got := Mirror(in); got != want {
			t.Errorf("Mirror(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestTelephoneEventKept: RFC 4733 telephone-event offered by the caller
// stays through Intersect and Rewrite (with its fmtp), so RTP DTMF reaches
// the far end, and the relay learns its payload type.
func TestTelephoneEventKept(t *testing.T) {
	sd, err := Parse([]byte(heldOffer))
	if err != nil {
		t.Fatal(err)
	}
	kept, err := Intersect(sd, DefaultCodecs)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 2 || kept[1].Name != "telephone-event" || kept[1].PayloadType != 101 {
		t.Fatalf("kept %v", kept)
	}
	if err := Rewrite(sd, netip.MustParseAddrPort("203.0.113.10:40000"), NewOrigin()); err != nil {
		t.Fatal(err)
	}
	out, _ := sd.Marshal()
	for _, want := range []string{"m=audio 40000 RTP/AVP 0 101", "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("rewritten offer lacks %q:\n%s", want, out)
		}
	}
	st, _ := AudioStream(sd)
	if r := st.Remote(); r.EventPayloadType != 101 {
		t.Errorf("relay event payload type %d, want 101", r.EventPayloadType)
	}
}
