package avaya_test

import (
	"testing"

	labavaya "github.com/switchboard-gw/switchboard/lab/avaya"
	"github.com/switchboard-gw/switchboard/plugins"
)

// TestUCIDAndExternalCaller: a trunk call to 201, as the AES simulator
// writes it (networkCallingDevice; the UCID in AES's private data), is an
// external call whose global id is the UCID, in the event and the
// snapshot.
func TestUCIDAndExternalCaller(t *testing.T) {
	e := newEnv(t, labavaya.Config{}, nil)
	e.monitor("201")
	e.sim.Incoming("0301234567", "201")
	ev := e.Want(plugins.EventDelivered, "201", plugins.StateAlerting)
	if ev.PartyType != plugins.PartyExternal || ev.Calling != "0301234567" || ev.GlobalCallID != labavaya.UCID(ev.CallID) {
		t.Fatalf("delivered %+v (want UCID %s)", ev, labavaya.UCID(ev.CallID))
	}
	s := e.snapshot("201")
	if len(s.Calls) != 1 || s.Calls[0].GlobalCallID != ev.GlobalCallID || s.Calls[0].PartyType != plugins.PartyExternal {
		t.Fatalf("snapshot %+v", s)
	}
}
