package b2bua

import (
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/media/relay"
)

// TestRingbackPlay: the tone goes out in the first G.711 format the
// transferee's SDP lists, with the payload type it gave it and its ptime
// when G.711 allows it; without G.711 (a browser on Opus, G.722) there
// is no tone.
func TestRingbackPlay(t *testing.T) {
	const head = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
	for _, c := range []struct {
		name, body string
		want       relay.TonePlay
		ok         bool
	}{
		{"PCMU", "m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n", relay.TonePlay{Codec: relay.PCMU, PayloadType: 0}, true},
		{"PCMA first", "m=audio 4000 RTP/AVP 8 0\r\n", relay.TonePlay{Codec: relay.PCMA, PayloadType: 8}, true},
		{"G.722 then PCMA", "m=audio 4000 RTP/AVP 9 8\r\n", relay.TonePlay{Codec: relay.PCMA, PayloadType: 8}, true},
		{"PCMU ptime 30", "m=audio 4000 RTP/AVP 0\r\na=ptime:30\r\n", relay.TonePlay{Codec: relay.PCMU, Ptime: 30 * time.Millisecond}, true},
		{"PCMU odd ptime", "m=audio 4000 RTP/AVP 0\r\na=ptime:25\r\n", relay.TonePlay{Codec: relay.PCMU}, true},
		{"dynamic PCMU", "m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 PCMU/8000\r\n", relay.TonePlay{Codec: relay.PCMU, PayloadType: 96}, true},
		{"Opus only", "m=audio 4000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n", relay.TonePlay{}, false},
		{"G.722 only", "m=audio 4000 RTP/AVP 9\r\n", relay.TonePlay{}, false},
	} {
		got, ok := ringbackPlay([]byte(head + c.body))
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("%s: %+v %v, want %+v %v", c.name, got, ok, c.want, c.ok)
		}
	}
	if _, ok := ringbackPlay(nil); ok {
		t.Error("no SDP: a tone")
	}
	if _, ok := ringbackPlay([]byte("v=0\r\nnot sdp")); ok {
		t.Error("malformed SDP: a tone")
	}
}
