package sdp

import (
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

// The RTP profiles the relay passes (RFC 3551 AVP, RFC 4585 AVPF, RFC 3711
// SAVP, RFC 5124 SAVPF) and nothing else: not DTLS-SRTP's UDP/TLS/RTP/SAVPF,
// not a prefix or an extension of a profile, case as RFC 4566 §5.14 writes
// it (pion keeps the m= line's case).
func TestSupportedProto(t *testing.T) {
	for _, tc := range []struct {
		protos []string
		want   bool
	}{
		{[]string{"RTP", "AVP"}, true},
		{[]string{"RTP", "AVPF"}, true},
		{[]string{"RTP", "SAVP"}, true},
		{[]string{"RTP", "SAVPF"}, true},
		{[]string{"RTP/AVP"}, true}, // one element: the same proto text
		{[]string{"UDP", "TLS", "RTP", "SAVPF"}, false},
		{[]string{"RTP", "AV"}, false},
		{[]string{"RTP", "AVPFX"}, false},
		{[]string{"RTP", "AVP", ""}, false},
		{[]string{"RTP", "", "AVP"}, false},
		{[]string{"rtp", "avp"}, false},
		{[]string{"RTP"}, false},
		{[]string{"udp"}, false},
		{nil, false},
	} {
		if got := supportedProto(tc.protos); got != tc.want {
			t.Errorf("supportedProto(%q) = %v, want %v", strings.Join(tc.protos, "/"), got, tc.want)
		}
	}
}

// audioIndex runs several times per call (parse, rewrite, answer checks):
// finding the audio stream must not allocate.
func TestAudioIndexAllocations(t *testing.T) {
	sd := &sdp.SessionDescription{MediaDescriptions: []*sdp.MediaDescription{
		{MediaName: sdp.MediaName{Media: "video", Port: sdp.RangedPort{Value: 0}, Protos: []string{"RTP", "AVP"}}},
		{MediaName: sdp.MediaName{Media: "audio", Port: sdp.RangedPort{Value: 4000}, Protos: []string{"RTP", "AVP"}}},
	}}
	if i, err := audioIndex(sd); i != 1 || err != nil {
		t.Fatalf("audioIndex = %d, %v; want 1, nil", i, err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = audioIndex(sd) }); n != 0 {
		t.Errorf("audioIndex took %.0f allocations, want 0", n)
	}
}
