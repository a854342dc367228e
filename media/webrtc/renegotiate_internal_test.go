package webrtc

import (
	"bytes"
	"os"
	"strings"
	"testing"

	psdp "github.com/pion/sdp/v3"
)

// TestWithDirection: our description for a hold (golden file): the
// direction and a=setup replaced on the audio m= line, the o= version set,
// everything else kept.
func TestWithDirection(t *testing.T) {
	base, err := os.ReadFile("testdata/chrome-offer.sdp")
	if err != nil {
		t.Fatal(err)
	}
	got, err := withDirection(base, psdp.DirectionSendOnly, "active", 7)
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/chrome-offer.hold.golden"
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
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestWithin(t *testing.T) {
	sr, so, ro, in := psdp.DirectionSendRecv, psdp.DirectionSendOnly, psdp.DirectionRecvOnly, psdp.DirectionInactive
	for _, c := range []struct{ ans, off, want psdp.Direction }{
		{sr, sr, sr}, {sr, so, ro}, {sr, ro, so}, {sr, in, in},
		{ro, so, ro}, {so, ro, so}, {so, so, in}, {in, sr, in}, {ro, sr, ro},
	} {
		if got := within(c.ans, c.off); got != c.want {
			t.Errorf("answer %s to offer %s: %s, want %s", c.ans, c.off, got, c.want)
		}
	}
}

func TestEstablishedRole(t *testing.T) {
	for _, c := range []struct{ local, remote, want string }{
		{"a=setup:active\r\n", "actpass", "active"},   // we answered active
		{"a=setup:passive\r\n", "actpass", "passive"}, // we answered passive
		{"a=setup:actpass\r\n", "active", "passive"},  // we offered, the browser took active
		{"a=setup:actpass\r\n", "passive", "active"},  // we offered, the browser took passive
		{"v=0\r\n", "active", "passive"},              // no a=setup: RFC 8842 §5.1 default for the offerer
	} {
		if got := establishedRole(c.local, c.remote); got != c.want {
			t.Errorf("local %q remote %q: %s, want %s", c.local, c.remote, got, c.want)
		}
	}
}

// FuzzWithDirection: whatever description it gets, withDirection does not
// panic, and what it returns parses, has exactly one direction attribute,
// dir, on every audio m= line, the a=setup asked for wherever there was
// one, and the o= version asked for.
func FuzzWithDirection(f *testing.F) {
	b, err := os.ReadFile("testdata/chrome-offer.sdp")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, uint8(1))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=sendrecv\r\na=inactive\r\na=setup:actpass\r\n"), uint8(3))
	f.Fuzz(func(t *testing.T, body []byte, d uint8) {
		dir := psdp.Direction(d%4 + 1)
		out, err := withDirection(body, dir, "passive", 42)
		if err != nil {
			return
		}
		sd := &psdp.SessionDescription{}
		if err := sd.Unmarshal(out); err != nil {
			t.Fatalf("output does not parse: %v\n%q", err, out)
		}
		if sd.Origin.SessionVersion != 42 {
			t.Fatalf("o= version %d", sd.Origin.SessionVersion)
		}
		for _, md := range sd.MediaDescriptions {
			if md.MediaName.Media != "audio" {
				continue
			}
			n := 0
			for _, a := range md.Attributes {
				if _, err := psdp.NewDirection(a.Key); err == nil {
					n++
					if a.Key != dir.String() {
						t.Fatalf("direction %s, want %s", a.Key, dir)
					}
				}
				if a.Key == "setup" && a.Value != "passive" {
					t.Fatalf("a=setup:%s", a.Value)
				}
			}
			if n != 1 {
				t.Fatalf("%d direction attributes:\n%s", n, strings.TrimSpace(string(out)))
			}
		}
	})
}
