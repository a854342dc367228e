package ctisim

import (
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
