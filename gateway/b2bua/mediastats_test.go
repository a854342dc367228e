package b2bua

import "testing"

// TestCodecName: the codec shown for a leg is the far end's SDP format of
// the payload type it sends (dynamic types by their a=rtpmap), the first
// audio format before a packet came, the RFC 3551 static name when the
// SDP is unusable, "PT n" for an unknown type.
func TestCodecName(t *testing.T) {
	sdp := "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/AVP 101 111 8 0\r\na=rtpmap:101 telephone-event/8000\r\na=rtpmap:111 opus/48000/2\r\n" +
		"a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
	for _, tc := range []struct {
		body string
		pt   int
		want string
	}{
		{sdp, 111, "opus/48000/2"},
		{sdp, 8, "PCMA/8000"},
		{sdp, 101, "telephone-event/8000"},
		{sdp, -1, "opus/48000/2"}, // first audio format: events skipped
		{sdp, 96, "PT 96"},
		{"", 0, "PCMU/8000"},
		{"", 18, "G729/8000"},
		{"", -1, ""},
		{"garbage", 9, "G722/8000"},
		{"garbage", 120, "PT 120"},
	} {
		if got := codecName([]byte(tc.body), tc.pt); got != tc.want {
			t.Errorf("codecName(%.20q, %d) = %q, want %q", tc.body, tc.pt, got, tc.want)
		}
	}
}
