package drivertest

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// fake is a driver whose link comes up at Start and whose one device has
// one call.
type fake struct {
	ev     *sdk.Events
	closed bool
}

func (f *fake) Start(context.Context, plugins.StartRequest) error {
	f.ev.Emit(plugins.Event{Type: plugins.EventLinkUp})
	return nil
}
func (f *fake) MonitorStart(_ context.Context, dev string) (string, error) { return "m-" + dev, nil }
func (f *fake) MonitorStop(context.Context, string) error                  { return nil }
func (f *fake) Snapshot(_ context.Context, dev string) (plugins.DeviceSnapshot, error) {
	return plugins.DeviceSnapshot{Device: dev, Calls: []plugins.CallSnapshot{{CallID: "c1", State: plugins.StateConnected}}}, nil
}
func (f *fake) Events(ctx context.Context, send func(plugins.Event) error) error {
	return f.ev.Serve(ctx, send)
}
func (f *fake) Close() error { f.closed = true; return nil }

func TestRecorder(t *testing.T) {
	f := &fake{ev: sdk.NewEvents(0)}
	t.Run("session", func(t *testing.T) {
		r := Start(t, f, "fake", nil, Timing{Wait: time.Second, Quiet: 10 * time.Millisecond, Buffer: 8})
		if ids := Monitor(t, f, "201", "202"); ids["201"] != "m-201" || ids["202"] != "m-202" {
			t.Fatalf("ids %v", ids)
		}
		if got := CallStates(Snapshot(t, f, "201")); got != "c1:connected" {
			t.Fatalf("call states %q", got)
		}
		f.ev.Emit(plugins.Event{Type: plugins.EventHeld, Device: "201", State: plugins.StateHold})
		if ev := r.Want(plugins.EventHeld, "201", plugins.StateHold); ev.Seq != 2 {
			t.Fatalf("seq %d", ev.Seq)
		}
		r.Quiet()
		n := 0
		WaitFor(t, "three polls", func() bool { n++; return n == 3 })
	})
	if !f.closed {
		t.Fatal("driver not closed by cleanup")
	}
}
