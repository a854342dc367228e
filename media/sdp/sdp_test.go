package sdp

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// relayAddr is where the golden outputs point media: a relay side.
var relayAddr = netip.MustParseAddrPort("203.0.113.10:40000")

// process is what the B2BUA does with an offer from one side before sending it
// to the other: parse, read the stream, intersect, rewrite.
func process(body []byte) string {
	var out strings.Builder
	fail := func(err error) string {
		code, text, ok := Warning(err)
		fmt.Fprintf(&out, "error: %s\nwarning: %d %v\n", text, code, ok)
		return out.String()
	}
	sd, err := Parse(body)
	if err != nil {
		return fail(err)
	}
	st, err := AudioStream(sd)
	if err != nil {
		return fail(err)
	}
	r := st.Remote()
	rtcp := "-"
	if st.RTCP.IsValid() {
		rtcp = st.RTCP.String()
	}
	fmt.Fprintf(&out, "stream: m=%d %s rtp=%s rtcp=%s %s ptime=%d hold=%v\n",
		st.Index+1, st.Proto, st.RTP, rtcp, st.Direction, st.Ptime, st.OnHold())
	fmt.Fprintf(&out, "offered: %s\n", codecList(st.Codecs))
	fmt.Fprintf(&out, "remote: clock=%d event=%d\n", r.ClockRate, r.EventPayloadType)
	kept, err := Intersect(sd, DefaultCodecs)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(&out, "kept: %s\n", codecList(kept))
	if err := Rewrite(sd, relayAddr, &Origin{SessionID: 42}); err != nil {
		return fail(err)
	}
	b, err := sd.Marshal()
	if err != nil {
		return fail(err)
	}
	// what we send must parse again
	if _, err := Parse(b); err != nil {
		fmt.Fprintf(&out, "REPARSE FAILED: %v\n", err)
	}
	out.WriteString("---\n")
	out.Write(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")))
	return out.String()
}

func codecList(cs []Codec) string {
	var parts []string
	for _, c := range cs {
		s := fmt.Sprintf("%d %s", c.PayloadType, c)
		if c.Fmtp != "" {
			s += " (" + c.Fmtp + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.sdp")
	if err != nil || len(files) == 0 {
		t.Fatal("no testdata", err)
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".sdp")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			// phones send CRLF; the files are LF: try both
			got := process(body)
			if crlf := process(bytes.ReplaceAll(body, []byte("\n"), []byte("\r\n"))); crlf != got {
				t.Errorf("CRLF input gives another result:\n%s", crlf)
			}
			golden := strings.TrimSuffix(in, ".sdp") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestErrorsAre488(t *testing.T) {
	for in, want := range map[string]error{
		"testdata/malformed-garbage.sdp":       ErrMalformed,
		"testdata/malformed-no-connection.sdp": ErrMalformed,
		"testdata/unknown-codecs-only.sdp":     ErrNoCommonCodec,
		"testdata/no-audio.sdp":                ErrNoAudio,
		"testdata/webrtc-dtls.sdp":             ErrUnsupportedTransport,
	} {
		body, _ := os.ReadFile(in)
		sd, err := Parse(body)
		if err == nil {
			_, err = Intersect(sd, DefaultCodecs)
		}
		if !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", in, err, want)
		}
		if _, _, ok := Warning(err); !ok {
			t.Errorf("%s: no warning for %v", in, err)
		}
	}
	if _, _, ok := Warning(errors.New("other")); ok {
		t.Error("Warning for a foreign error")
	}
}

// The o= version grows only when the description changes (RFC 3264 §8).
func TestOriginVersion(t *testing.T) {
	o := &Origin{SessionID: 7}
	body, _ := os.ReadFile("testdata/phone-pcmu-pcma-dtmf.sdp")
	version := func(edit func(*sdp.SessionDescription)) uint64 {
		sd, err := Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(sd)
		}
		if err := Rewrite(sd, relayAddr, o); err != nil {
			t.Fatal(err)
		}
		if sd.Origin.SessionID != 7 || sd.Origin.Username != "switchboard" {
			t.Fatalf("origin %+v", sd.Origin)
		}
		return sd.Origin.SessionVersion
	}
	v0 := version(nil)
	if v := version(nil); v != v0 {
		t.Fatalf("same body: version %d → %d", v0, v)
	}
	hold := func(sd *sdp.SessionDescription) {
		md := sd.MediaDescriptions[0]
		for i, a := range md.Attributes {
			if a.Key == "sendrecv" {
				md.Attributes[i] = sdp.NewPropertyAttribute("sendonly")
			}
		}
	}
	if v := version(hold); v != v0+1 {
		t.Fatalf("changed body: version %d, want %d", v, v0+1)
	}
	if v := version(hold); v != v0+1 {
		t.Fatalf("same again: version %d, want %d", v, v0+1)
	}
	if o2 := NewOrigin(); o2.SessionID == 0 || o2.SessionID >= 1<<62 {
		t.Fatalf("session id %d", o2.SessionID)
	}
}

func TestCheckAnswer(t *testing.T) {
	offer, err := Parse([]byte("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\nm=video 0 RTP/AVP 96\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, answer string
		err          error
		formats      string // the answer's audio formats after the check
	}{
		{"ok", "m=audio 5000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\nm=video 0 RTP/AVP 96\r\n", nil, "8 101"},
		{"other dynamic pt", "m=audio 5000 RTP/AVP 8 96\r\na=rtpmap:96 telephone-event/8000\r\nm=video 0 RTP/AVP 96\r\n", nil, "8 96"},
		// Postel: formats the offer did not list go, the call stays.
		{"CN added", "m=audio 5000 RTP/AVP 0 13\r\nm=video 0 RTP/AVP 96\r\n", nil, "0"},
		{"telephone-event at 16 kHz and G722 added", "m=audio 5000 RTP/AVP 9 0 102\r\na=rtpmap:102 telephone-event/16000\r\na=fmtp:102 0-16\r\nm=video 0 RTP/AVP 96\r\n", nil, "0"},
		{"unmapped dynamic pt added", "m=audio 5000 RTP/AVP 8 97\r\nm=video 0 RTP/AVP 96\r\n", nil, "8"},
		{"codec not offered", "m=audio 5000 RTP/AVP 9\r\nm=video 0 RTP/AVP 96\r\n", ErrNoCommonCodec, ""},
		{"only telephone-event left", "m=audio 5000 RTP/AVP 9 101\r\na=rtpmap:101 telephone-event/8000\r\nm=video 0 RTP/AVP 96\r\n", ErrNoCommonCodec, ""},
		{"m= lines dropped", "m=audio 5000 RTP/AVP 0\r\n", ErrAnswerMismatch, ""},
		{"audio rejected", "m=audio 0 RTP/AVP 0\r\nm=video 0 RTP/AVP 96\r\n", ErrNoAudio, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans, err := Parse([]byte("v=0\r\no=- 2 2 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n" + tt.answer))
			if err != nil {
				t.Fatal(err)
			}
			st, err := CheckAnswer(offer, ans)
			if !errors.Is(err, tt.err) {
				t.Fatalf("got %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if st.RTP != netip.MustParseAddrPort("10.0.0.2:5000") {
				t.Fatalf("stream %+v", st)
			}
			if got := strings.Join(ans.MediaDescriptions[0].MediaName.Formats, " "); got != tt.formats {
				t.Errorf("formats %q, want %q", got, tt.formats)
			}
			if len(st.Codecs) != len(strings.Fields(tt.formats)) {
				t.Errorf("stream codecs %v, want formats %q", st.Codecs, tt.formats)
			}
			out, err := ans.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			for _, pt := range []string{"13", "97", "102", "9 "} {
				if strings.Contains(string(out), "rtpmap:"+pt) || strings.Contains(string(out), "fmtp:"+pt) {
					t.Errorf("answer keeps attributes of dropped format %s:\n%s", pt, out)
				}
			}
		})
	}
}

func FuzzParseSDP(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		sd, err := Parse(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse error not ErrMalformed: %v", err)
			}
			return
		}
		st, serr := AudioStream(sd)
		if serr == nil {
			_ = st.Remote()
			_ = st.OnHold()
		}
		// What Parse accepts, the B2BUA writes on to the other leg: written
		// back, it parses again to the same audio stream.
		out, err := sd.Marshal()
		if err != nil {
			t.Fatalf("accepted %q, cannot write it back: %v", body, err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("accepted %q, wrote %q, refused that: %v", body, out, err)
		}
		st2, serr2 := AudioStream(again)
		if (serr == nil) != (serr2 == nil) || !reflect.DeepEqual(st, st2) {
			t.Fatalf("accepted %q, wrote %q: stream %+v (%v), read back %+v (%v)", body, out, st, serr, st2, serr2)
		}
		// Last: CheckAnswer trims the answer (here sd itself) in place.
		_, _ = CheckAnswer(sd, sd)
	})
}

func FuzzRewrite(f *testing.F) {
	seed(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		sd, err := Parse(body)
		if err != nil {
			return
		}
		if _, err := Intersect(sd, DefaultCodecs); err != nil {
			return
		}
		if err := Rewrite(sd, relayAddr, &Origin{SessionID: 1}); err != nil {
			return
		}
		out, err := sd.Marshal()
		if err != nil {
			t.Fatalf("marshal after rewrite: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("rewritten SDP does not parse: %v\n%s", err, out)
		}
		st, err := AudioStream(again)
		if err != nil || st.RTP != relayAddr {
			t.Fatalf("rewritten stream %+v %v\n%s", st, err, out)
		}
	})
}

func seed(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.sdp")
	for _, in := range files {
		b, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")))
	}
}
