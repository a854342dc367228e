package mitel

import "testing"

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
	f.Fuzz(func(t *testing.T, b []byte) { _ = timestampIn(b) })
}
