package csta

import "testing"

func TestStatesAndCauses(t *testing.T) {
	for _, name := range []string{"null", "initiated", "alerting", "connected", "hold", "queued", "fail"} {
		s := ParseConnectionState(name)
		if s == StateUnknown || s.String() != name {
			t.Errorf("state %q -> %v", name, s)
		}
	}
	for _, in := range []string{"", "Alerting", "held", "bogus"} {
		if s := ParseConnectionState(in); s != StateUnknown || s.String() != "unknown" {
			t.Errorf("state %q -> %v", in, s)
		}
	}
	if ParseConnectionState(" hold\n") != StateHold {
		t.Error("surrounding space")
	}
	for c := CauseNewCall; c <= CauseParkedCall; c++ {
		if ParseCause(c.String()) != c {
			t.Errorf("cause %d %q does not round trip", c, c)
		}
	}
	if ParseCause("somethingNew") != CauseUnknown || Cause(200).String() != "unknown" || ConnectionState(200).String() != "unknown" {
		t.Error("unknown values")
	}
}
