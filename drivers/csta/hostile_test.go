package csta

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const billionLaughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
]>
<DeliveredEvent><monitorCrossRefID>&lol9;</monitorCrossRefID></DeliveredEvent>`

func TestDecodeHostile(t *testing.T) {
	deep := strings.Repeat("<a>", 5000) + strings.Repeat("</a>", 5000)
	for _, tc := range []struct {
		name string
		in   string
		want error
	}{
		{"billion laughs", billionLaughs, ErrDoctype},
		{"entity without DOCTYPE", `<DeliveredEvent><cause>&lol9;</cause></DeliveredEvent>`, ErrMalformed},
		{"external entity", `<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>`, ErrDoctype},
		{"deep nesting", deep, ErrTooDeep},
		{"deep inside a known root", "<DeliveredEvent>" + deep + "</DeliveredEvent>", ErrTooDeep},
		{"too large", "<A>" + strings.Repeat("x", DefaultMaxSize) + "</A>", ErrFrameTooLarge},
		{"empty", "", ErrNoRoot},
		{"only prolog", `<?xml version="1.0"?>`, ErrNoRoot},
		{"garbage", "\x00\x01\x02 not xml", ErrMalformed},
		{"text", "hello", ErrMalformed},
		{"truncated", `<DeliveredEvent><connection><callID>1</call`, ErrMalformed},
		{"unclosed", `<DeliveredEvent><connection>`, ErrMalformed},
		{"mismatched", `<DeliveredEvent></HeldEvent>`, ErrMalformed},
		{"two roots", `<A/><B/>`, ErrMalformed},
		{"invalid UTF-8", "<A>\xff\xfe</A>", ErrInvalidUTF8},
		{"bad int", `<StartApplicationSessionPosResponse><actualSessionDuration>many</actualSessionDuration></StartApplicationSessionPosResponse>`, ErrMalformed},
		{"bad bool", `<SetDoNotDisturb><doNotDisturbOn>perhaps</doNotDisturbOn></SetDoNotDisturb>`, ErrMalformed},
		{"latin-1 declared", `<?xml version="1.0" encoding="ISO-8859-1"?><A/>`, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			var err error
			go func() {
				defer close(done)
				_, err = Decode([]byte(tc.in))
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Decode hangs")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	d := &Decoder{MaxSize: 64, MaxDepth: 3}
	if _, err := d.Decode([]byte("<a><b><c/></b></a>")); err != nil {
		t.Fatalf("depth 3: %v", err)
	}
	if _, err := d.Decode([]byte("<a><b><c><d/></c></b></a>")); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("depth 4: %v", err)
	}
	if _, err := d.Decode([]byte("<a>" + strings.Repeat(" ", 64) + "</a>")); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("size: %v", err)
	}
}

// TestDecodeLenient: unknown children and roots are not errors.
func TestDecodeLenient(t *testing.T) {
	m, err := Decode([]byte(`<csta:HeldEvent xmlns:csta="urn:whatever"><csta:monitorCrossRefID>1</csta:monitorCrossRefID><csta:newThing><x/></csta:newThing><csta:localConnectionInfo>queued</csta:localConnectionInfo><csta:cause>somethingNew</csta:cause></csta:HeldEvent>`))
	if err != nil {
		t.Fatal(err)
	}
	ev := m.(*HeldEvent)
	if ev.ConnectionState() != StateQueued || ev.CauseCode() != CauseUnknown || ev.Cause != "somethingNew" {
		t.Errorf("%+v", ev)
	}
	// Undeclared prefix: still parsed by local name.
	m, err = Decode([]byte(`<csta:MonitorStopResponse/>`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*MonitorStopResponse); !ok {
		t.Errorf("got %T", m)
	}
}
