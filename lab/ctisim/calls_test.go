package ctisim

import (
	"maps"
	"slices"
	"testing"
)

func TestCall(t *testing.T) {
	c := &Call{ID: "1", Calling: "201", Called: "202",
		Parties: []*Party{{Device: "201", State: StateConnected}, {Device: "202", State: StateAlerting}, {Device: "201", State: StateHold}}}
	if p := c.Party("202"); p == nil || p.State != StateAlerting {
		t.Fatalf("party 202: %+v", p)
	}
	if c.Party("203") != nil {
		t.Fatal("203 is not in the call")
	}
	var in, out []string
	c.Tell(func(d string) { in = append(in, d) }, func(d string) { out = append(out, d) }, "202", "204", "204")
	if !slices.Equal(in, []string{"201", "202"}) || !slices.Equal(out, []string{"204"}) {
		t.Fatalf("told in %v, out %v", in, out)
	}
	if r := Fail(ErrInvalidDevice); r.Msg != ErrInvalidDevice || r.After != nil {
		t.Fatalf("fail: %+v", r)
	}
}

// TestCallsByDevice holds the one-pass truth to CallsAt, device by device.
func TestCallsByDevice(t *testing.T) {
	calls := map[string]*Call{
		"1": {ID: "1", Parties: []*Party{{Device: "201", State: StateConnected}, {Device: "202", State: StateConnected}}},
		"2": {ID: "2", Parties: []*Party{{Device: "201", State: StateHold}, {Device: "203", State: StateAlerting}}},
		"3": {ID: "3", Parties: []*Party{{Device: "204", State: StateConnected}, {Device: "204", State: StateAlerting}}},
	}
	all := CallsByDevice(calls)
	for _, dev := range []string{"201", "202", "203", "204", "205"} {
		want := CallsAt(calls, dev)
		got := all[dev]
		if len(want) == 0 && got == nil {
			continue
		}
		if !maps.Equal(got, want) {
			t.Errorf("%s: %v, CallsAt says %v", dev, got, want)
		}
	}
	if _, ok := all["205"]; ok {
		t.Errorf("205 has no call but is listed")
	}
}
