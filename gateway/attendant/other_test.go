package attendant

import (
	"testing"

	"github.com/switchboard-gw/switchboard/plugins"
)

// TestOtherOfRedirectedCall: a call the PBX redirected to 201 (a hunt
// group's distribution, a deflection out of a queue, a forward) names the
// group as the called device; the far end 201 shows while it rings and
// talks is the caller, not the group it was called at. The caller's own
// side still shows the device it rings.
func TestOtherOfRedirectedCall(t *testing.T) {
	f := newFake("pbx1", "201", "202")
	m := newModel(t, Options{}, f)
	m.Apply(snapEv("pbx1", "201"))
	m.Apply(snapEv("pbx1", "202"))
	for i, s := range []struct {
		ev        plugins.Event
		dev, want string
	}{
		{plugins.Event{Type: plugins.EventDelivered, Device: "201", Other: "201", Calling: "0302222", CallingName: "Carla Caller",
			Called: "600", LastRedirection: "600", State: plugins.StateAlerting}, "pbx1:201", "0302222"},
		{plugins.Event{Type: plugins.EventEstablished, Device: "201", Other: "201", Calling: "0302222",
			Called: "600", LastRedirection: "600", State: plugins.StateConnected}, "pbx1:201", "0302222"},
		{plugins.Event{Type: plugins.EventDelivered, Device: "202", Other: "201", Calling: "202", Called: "600",
			State: plugins.StateConnected}, "pbx1:202", "201"},
	} {
		s.ev.Driver, s.ev.Incarnation, s.ev.Seq, s.ev.CallID = "pbx1", 1, uint64(i+1), "c"+s.ev.Device
		m.Apply(s.ev)
		d, _ := m.Device(s.dev)
		if len(d.Calls) != 1 || d.Calls[0].Other != s.want {
			t.Fatalf("step %d (%s at %s): calls %+v, want the other end %s", i, s.ev.Type, s.dev, d.Calls, s.want)
		}
		if i == 0 && d.Calls[0].OtherName != "Carla Caller" {
			t.Errorf("other name %q, want the caller's", d.Calls[0].OtherName)
		}
	}
}
