package attendant

import (
	"testing"

	"github.com/switchboard-gw/switchboard/plugins"
)

// TestDeviceLinkEvents: a link event that names a device (the gateway
// source: a user whose last binding went, then registered again) turns
// that lamp offline and back, and leaves the source and its other devices
// as they were (before, it marked every lamp of the source stale).
func TestDeviceLinkEvents(t *testing.T) {
	f := newFake(GatewaySource, "u1000", "u1001")
	m := newModel(t, Options{}, f)
	m.Apply(snapEv(GatewaySource, "u1000"))
	m.Apply(snapEv(GatewaySource, "u1001"))
	m.Apply(plugins.Event{Driver: GatewaySource, Incarnation: 1, Seq: 1, Device: "u1000", Type: plugins.EventLinkDown})
	a, _ := m.Device("gateway:u1000")
	b, _ := m.Device("gateway:u1001")
	if a.Line != LineOffline || a.Presence != PresenceOffline || a.Stale {
		t.Fatalf("unregistered user: %+v", a)
	}
	if b.Line != LineIdle || b.Stale || !m.Links()[GatewaySource] {
		t.Fatalf("the other user or the source changed: %+v links %v", b, m.Links())
	}
	m.Apply(plugins.Event{Driver: GatewaySource, Incarnation: 1, Seq: 2, Device: "u1000", Type: plugins.EventLinkUp})
	if a, _ = m.Device("gateway:u1000"); a.Line != LineIdle || a.Presence != PresenceAvailable {
		t.Fatalf("registered again: %+v", a)
	}
	// A user never seen before who registers: idle, not unknown.
	m.Apply(plugins.Event{Driver: GatewaySource, Incarnation: 1, Seq: 3, Device: "u1002", Type: plugins.EventLinkUp})
	if c, err := m.Device("gateway:u1002"); err != nil || c.Line != LineIdle {
		t.Fatalf("new user: %+v %v", c, err)
	}
}
