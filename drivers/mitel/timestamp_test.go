package mitel

import (
	"bytes"
	"testing"
	"time"
)

func TestTimestampIn(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{`<csta:security><csta:timestamp>2026-11-23T13:44:20.5Z</csta:timestamp></csta:security>`, true},
		{`<security><messageSequenceNumber>7</messageSequenceNumber><timestamp> 2026-11-23T13:44:20+01:00 </timestamp></security>`, true},
		{`<privateData><timestamp>2026-11-23T13:44:20Z</timestamp></privateData>`, false},
		{`<security><timestamp>yesterday</timestamp></security>`, false},
		{`<security><timestamp>`, false},
		{``, false},
	} {
		if got := !timestampIn([]byte(tc.in)).IsZero(); got != tc.want {
			t.Errorf("%s: found %v, want %v", tc.in, got, tc.want)
		}
	}
}

func FuzzTimestampIn(f *testing.F) {
	f.Add([]byte(`<security><timestamp>2026-11-23T13:44:20.5Z</timestamp></security>`))
	f.Add([]byte(`<a><b><c>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts := timestampIn(b)
		if ts.IsZero() {
			return
		}
		// Found means the fragment names security/timestamp, and the time
		// found is the one written there: written back, it reads the same.
		if !bytes.Contains(b, []byte("security")) || !bytes.Contains(b, []byte("timestamp")) {
			t.Fatalf("%q: timestamp %v found without security/timestamp", b, ts)
		}
		again := timestampIn([]byte("<security><timestamp>" + ts.Format(time.RFC3339Nano) + "</timestamp></security>"))
		if !again.Equal(ts) {
			t.Fatalf("%q: found %v, written back and read %v", b, ts, again)
		}
	})
}
