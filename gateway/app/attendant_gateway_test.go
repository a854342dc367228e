package app

import (
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/gateway/attendant"
)

// waitLamp polls the attendant model until id's lamp is want.
func waitLamp(t *testing.T, a *App, id string, want attendant.LineState) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := a.Attendant().Device(id)
		if err == nil && d.Line == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lamp %s: %+v %v, want %s", id, d, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGatewayLampsInAttendant: the gateway's own users are lamps of the
// attendant API beside the PBX devices: offline until they register, idle
// once registered, busy in a call, idle after it (before, the gateway
// source existed but fed nothing to the model).
func TestGatewayLampsInAttendant(t *testing.T) {
	a := runApp(t, gwctiUsers, nil)
	waitLamp(t, a, "gateway:u1002", attendant.LineOffline)
	if d, _ := a.Attendant().Device("gateway:u1002"); d.Presence != attendant.PresenceOffline {
		t.Fatalf("unregistered user's presence: %s", d.Presence)
	}
	p0 := newTestPhone(t, a, "u1000", 0)
	newTestPhone(t, a, "u1001", 300*time.Millisecond)
	waitLamp(t, a, "gateway:u1000", attendant.LineIdle)
	waitLamp(t, a, "gateway:u1001", attendant.LineIdle)
	pc, st := p0.call("1001")
	if st != 200 {
		t.Fatalf("call to 1001: %d", st)
	}
	waitLamp(t, a, "gateway:u1000", attendant.LineBusy)
	waitLamp(t, a, "gateway:u1001", attendant.LineBusy)
	if calls := a.Attendant().Calls(); len(calls) != 1 {
		t.Fatalf("attendant calls during the call: %+v", calls)
	}
	ch := p0.expect(pc.cid)
	p0.send(p0.request("BYE", pc.target, pc.cid, randHex(6), pc.toHdr, 3, "", nil))
	if res := p0.final(ch, "BYE"); res.status != 200 {
		t.Fatalf("BYE: %s", res.first)
	}
	waitLamp(t, a, "gateway:u1000", attendant.LineIdle)
	waitLamp(t, a, "gateway:u1001", attendant.LineIdle)
}
