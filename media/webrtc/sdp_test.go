package webrtc

import (
	"bytes"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/media/sdp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// edit returns the Chrome offer with lines starting with drop removed and
// add appended to the audio section.
func edit(t *testing.T, drop []string, add ...string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/chrome-offer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimRight(string(b), "\r\n"), "\r\n") {
		keep := true
		for _, d := range drop {
			if strings.HasPrefix(l, d) {
				keep = false
			}
		}
		if keep {
			out = append(out, l)
		}
	}
	out = append(out, add...)
	return []byte(strings.Join(out, "\r\n") + "\r\n")
}

// TestParseBrowser: what a browser's offer must carry (RFC 8829, RFC 8839,
// RFC 8122) and the error each lack gets; every error is one the B2BUA
// answers 488 with a Warning. The plain offer made from the good one is
// golden (testdata/chrome-offer.plain.golden).
func TestParseBrowser(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
		want error
	}{
		{"chrome", edit(t, nil), nil},
		{"no fingerprint", edit(t, []string{"a=fingerprint:"}), ErrNoFingerprint},
		{"no ice-pwd", edit(t, []string{"a=ice-pwd:"}), ErrNoICE},
		{"short ice-ufrag", edit(t, []string{"a=ice-ufrag:"}, "a=ice-ufrag:ab"), ErrNoICE},
		{"garbage candidate", edit(t, nil, "a=candidate:garbage"), ErrBadCandidate},
		{"candidate 0.0.0.0", edit(t, nil, "a=candidate:1 1 udp 1 0.0.0.0 9 typ host"), ErrBadCandidate},
		{"candidate multicast", edit(t, nil, "a=candidate:1 1 udp 1 239.1.1.1 5000 typ host"), ErrBadCandidate},
		{"candidate port 0", edit(t, nil, "a=candidate:1 1 udp 1 192.0.2.1 0 typ host"), ErrBadCandidate},
		{"candidate host name", edit(t, nil, "a=candidate:1 1 udp 1 evil.example.com 5000 typ host"), ErrBadCandidate},
		{"too many candidates", edit(t, nil, strings.Repeat("a=candidate:1 1 udp 1 192.0.2.1 5000 typ host\r\n", 70)), ErrBadCandidate},
		{"plain RTP", []byte("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"), ErrNotWebRTC},
		{"video only", []byte("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n"), sdp.ErrNoAudio},
		{"bad rtpmap", edit(t, nil, "a=rtpmap:96 opus"), sdp.ErrMalformed},
		{"not sdp", []byte("hello"), sdp.ErrMalformed},
		{"oversized", append(edit(t, nil), bytes.Repeat([]byte("a=x:y\r\n"), 10000)...), sdp.ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := parseBrowser(tc.body)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err != nil {
				if _, _, ok := sdp.Warning(err); !ok {
					t.Errorf("%v has no Warning: the B2BUA would answer 500, not 488", err)
				}
				return
			}
			keep, audio := supported(b.codecs)
			if !audio {
				t.Fatal("no audio codec kept")
			}
			got := plainSDP(keep, loopbackAddr(40000), b.direction, 1)
			golden := filepath.Join("testdata", "chrome-offer.plain.golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("plain offer:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// FuzzParseBrowser: whatever a browser sends, parseBrowser does not panic,
// refuses with an error that maps to a 488, or accepts an offer whose
// fingerprint and ICE credentials are there, whose codecs are formats of
// its m= line, and whose plain form parses back with the same codecs.
func FuzzParseBrowser(f *testing.F) {
	b, err := os.ReadFile("testdata/chrome-offer.sdp")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=fingerprint:x\r\na=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseBrowser(body)
		if err != nil {
			if _, _, ok := sdp.Warning(err); !ok {
				t.Fatalf("error without a Warning (a 500, not a 488): %v", err)
			}
			return
		}
		if !bytes.Contains(body, []byte("fingerprint")) || !bytes.Contains(body, []byte("ice-ufrag")) {
			t.Fatalf("accepted without fingerprint or ufrag:\n%q", body)
		}
		keep, audio := supported(got.codecs)
		if !audio {
			return
		}
		plain := plainSDP(keep, loopbackAddr(40000), got.direction, 1)
		st, err := plainStream(plain)
		if err != nil {
			t.Fatalf("plain offer does not parse: %v\n%s", err, plain)
		}
		if len(st.Codecs) != len(keep) {
			t.Fatalf("plain offer has %d codecs, want %d:\n%s", len(st.Codecs), len(keep), plain)
		}
		for i := range keep {
			if !st.Codecs[i].Matches(keep[i]) || st.Codecs[i].PayloadType != keep[i].PayloadType {
				t.Fatalf("codec %d: %v, want %v", i, st.Codecs[i], keep[i])
			}
		}
	})
}

func loopbackAddr(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port)
}
