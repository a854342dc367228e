package ctisim

import (
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// huntSwitch is a switch of two members (201, 202) in group 600 for the
// hunt-group flow, recording what it sends and delivers.
type huntSwitch struct {
	busy   map[string]bool
	calls  map[string]*Call
	events []string
	hunt   Hunt
}

func newHuntSwitch() *huntSwitch {
	s := &huntSwitch{busy: map[string]bool{}, calls: map[string]*Call{}}
	w := Wire{Party: cstaxml.KnownParty, Conn: cstaxml.Conn,
		EmitAll: func(c *Call, mk func(xref, local string) cstaxml.Message, _ ...string) {
			switch m := mk("1", "").(type) {
			case *cstaxml.QueuedEvent:
				s.events = append(s.events, fmt.Sprintf("queued %s queued=%s infront=%s", c.ID, m.NumberQueued, m.CallsInFront))
			case *cstaxml.DivertedEvent:
				s.events = append(s.events, fmt.Sprintf("diverted %s to %s", c.ID, m.NewDestination.DeviceIdentifier.Value))
			}
		},
		Forget: func(c *Call) { delete(s.calls, c.ID) }}
	s.hunt = Hunt{Wire: w, Members: func(g string) []string { return map[string][]string{"600": {"201", "202"}}[g] },
		Refuses: func(dev string) string {
			if s.busy[dev] {
				return "busy"
			}
			return ""
		},
		Live: func(c *Call) bool { return s.calls[c.ID] == c },
		Deliver: func(c *Call, m, g string) {
			c.Parties = append(c.Parties, &Party{Device: m, State: StateAlerting})
			s.busy[m] = true
			s.events = append(s.events, fmt.Sprintf("delivered %s at %s via %s", c.ID, m, g))
		}}
	return s
}

func (s *huntSwitch) call(id string) *Call {
	c := &Call{ID: id, Calling: "03" + id, Called: "600", Parties: []*Party{{Device: "03" + id, State: StateConnected}}}
	s.calls[id] = c
	return c
}

// TestHunt: calls to group 600 go to its first free member; with both
// busy they queue (numberQueued, callsInFront); a call taken out of the
// queue (Remove) or ended while waiting is skipped when a member frees.
func TestHunt(t *testing.T) {
	s := newHuntSwitch()
	for _, id := range []string{"1", "2", "3", "4", "5"} {
		s.hunt.Enter(s.call(id), "600")
	}
	want := []string{
		"diverted 1 to 201", "delivered 1 at 201 via 600",
		"diverted 2 to 202", "delivered 2 at 202 via 600",
		"queued 3 queued=1 infront=0", "queued 4 queued=2 infront=1", "queued 5 queued=3 infront=2",
	}
	if !slices.Equal(s.events, want) {
		t.Fatalf("events %q\nwant %q", s.events, want)
	}
	if n := s.hunt.Waiting("600"); n != 3 {
		t.Fatalf("%d waiting, want 3", n)
	}
	if !s.hunt.Remove("600", s.calls["3"]) || s.hunt.Remove("600", s.calls["3"]) || s.hunt.Remove("601", s.calls["4"]) {
		t.Fatal("Remove: the waiting call once, then not again, and never from another group")
	}
	delete(s.calls, "4") // ended while it waited
	s.events = nil
	s.busy["201"] = false
	s.hunt.Distribute()
	want = []string{"diverted 5 to 201", "delivered 5 at 201 via 600"}
	if !slices.Equal(s.events, want) {
		t.Fatalf("after 201 freed: %q\nwant %q", s.events, want)
	}
	if n := s.hunt.Waiting("600"); n != 0 {
		t.Fatalf("%d waiting, want 0", n)
	}
	if p := s.calls["5"].Party("600"); p != nil {
		t.Errorf("the group's connection stayed after the distribution: %+v", p)
	}
}

// TestNextRequest: a switch's own invoke IDs count 1 to MaxInvokeID and
// wrap to 1, never 0.
func TestNextRequest(t *testing.T) {
	last := 0
	if id := NextRequest(&last); id != 1 {
		t.Fatalf("first %d", id)
	}
	last = int(cstaxml.MaxInvokeID)
	if id := NextRequest(&last); id != 1 {
		t.Fatalf("after MaxInvokeID: %d, want 1", id)
	}
}

// TestInCallsAndExternal: the lines a device uses count its live
// connections only; a number is external with the prefix and more.
func TestInCallsAndExternal(t *testing.T) {
	calls := map[string]*Call{
		"1": {ID: "1", Parties: []*Party{{Device: "201", State: StateConnected}}},
		"2": {ID: "2", Parties: []*Party{{Device: "201", State: StateHold}}},
		"3": {ID: "3", Parties: []*Party{{Device: "201", State: StateFail}}},
		"4": {ID: "4", Parties: []*Party{{Device: "201", State: StateNull}, {Device: "202", State: StateAlerting}}},
	}
	if n := InCalls(calls, "201"); n != 2 {
		t.Errorf("201 in %d calls, want 2 (connected, held)", n)
	}
	if n := InCalls(calls, "203"); n != 0 {
		t.Errorf("203 in %d calls", n)
	}
	for _, tc := range []struct {
		prefix, number string
		want           bool
	}{{"0", "0301234", true}, {"0", "0", false}, {"0", "201", false}, {"", "0301234", false}} {
		if got := External(tc.prefix, tc.number); got != tc.want {
			t.Errorf("External(%q, %q) = %v", tc.prefix, tc.number, got)
		}
	}
}
