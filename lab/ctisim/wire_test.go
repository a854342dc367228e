package ctisim

import (
	"fmt"
	"testing"

	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// TestWire runs a call through answer, hold, retrieve and clear and
// checks the responses, the states and the events each device is told.
func TestWire(t *testing.T) {
	calls := map[string]*Call{}
	var told []string
	w := Wire{
		Party: cstaxml.KnownParty,
		Conn:  cstaxml.Conn,
		EmitAll: func(c *Call, mk func(xref, local string) cstaxml.Message, extra ...string) {
			c.Tell(func(dev string) {
				told = append(told, fmt.Sprintf("%s:%s:%s", dev, cstaxml.Name(mk("x", c.Party(dev).State)), c.Party(dev).State))
			}, func(dev string) { told = append(told, dev+":"+cstaxml.Name(mk("x", StateNull))) }, extra...)
		},
		Forget: func(c *Call) { delete(calls, c.ID) },
	}
	a := &Party{Device: "201", State: StateConnected}
	b := &Party{Device: "202", State: StateAlerting}
	c := &Call{ID: "1", Calling: "201", Called: "202", Parties: []*Party{a, b}}
	calls[c.ID] = c
	run := func(r Result) cstaxml.Message {
		for _, f := range r.After {
			f()
		}
		return r.Msg
	}
	if m := run(w.Retrieve(c, a)); m != ErrInvalidState {
		t.Fatalf("retrieve of a connected call: %v", m)
	}
	if _, ok := run(w.Answer(c, b)).(*cstaxml.AnswerCallResponse); !ok || b.State != StateConnected {
		t.Fatalf("answer: %+v", b)
	}
	run(w.Hold(c, a))
	run(w.Retrieve(c, a))
	run(w.Clear(c, a))
	want := []string{
		"201:EstablishedEvent:connected", "202:EstablishedEvent:connected",
		"201:HeldEvent:hold", "202:HeldEvent:connected",
		"201:RetrievedEvent:connected", "202:RetrievedEvent:connected",
		"201:ConnectionClearedEvent:null", "202:ConnectionClearedEvent:connected",
		"201:ConnectionClearedEvent:null", "202:ConnectionClearedEvent:null",
		"201:CallClearedEvent:null", "202:CallClearedEvent:null", // the call is over (ECMA-269 §17.2.2)
	}
	if fmt.Sprint(told) != fmt.Sprint(want) {
		t.Fatalf("told\n%v\nwant\n%v", told, want)
	}
	if len(calls) != 0 || len(c.Parties) != 0 {
		t.Fatalf("cleared call kept: %v %+v", calls, c.Parties)
	}
}
