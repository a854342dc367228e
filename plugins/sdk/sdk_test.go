package sdk_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

func TestEventsNumbersAndOrders(t *testing.T) {
	ev := sdk.NewEvents(2)
	pbx := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if seq := ev.Emit(plugins.Event{Type: plugins.EventDelivered, PBXTime: pbx}); seq != 1 {
		t.Fatalf("seq %d", seq)
	}
	ev.Emit(plugins.Event{Type: plugins.EventEstablished})
	ev.Emit(plugins.Event{Type: plugins.EventHeld}) // buffer full: dropped, seq 3 skipped
	if ev.Dropped() != 1 || ev.Seq() != 3 {
		t.Fatalf("dropped %d seq %d", ev.Dropped(), ev.Seq())
	}
	ctx, cancel := context.WithCancel(t.Context())
	var got []plugins.Event
	err := ev.Serve(ctx, func(e plugins.Event) error {
		got = append(got, e)
		if len(got) == 3 {
			cancel()
		}
		return nil
	})
	// The drop is told to the host twice: the gap, and a RESYNC once the
	// queue had room.
	if err != nil || len(got) != 3 || got[0].Seq != 1 || got[1].Seq != 2 || got[2].Seq != 4 || got[2].Type != plugins.EventResync {
		t.Fatalf("served %+v %v", got, err)
	}
	if !got[0].PBXTime.Equal(pbx) || got[0].Time.IsZero() {
		t.Errorf("timestamps: %+v", got[0])
	}
	if seq := ev.Emit(plugins.Event{}); seq != 5 {
		t.Errorf("seq after drop: %d", seq)
	}
	boom := errors.New("boom")
	if err := ev.Serve(t.Context(), func(plugins.Event) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("send error: %v", err)
	}
}

// TestEventsLost: a driver that lost events of its own (a bounded queue
// overflowed, the PBX said messagesLost) calls Lost: the host sees a gap
// and, with nothing else to send, a RESYNC.
func TestEventsLost(t *testing.T) {
	ev := sdk.NewEvents(8)
	ev.Emit(plugins.Event{Type: plugins.EventDelivered})
	ev.Lost(5)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var got []plugins.Event
	_ = ev.Serve(ctx, func(e plugins.Event) error {
		got = append(got, e)
		if len(got) == 2 {
			cancel()
		}
		return nil
	})
	if len(got) != 2 || got[0].Seq != 1 || got[1].Seq != 7 || got[1].Type != plugins.EventResync {
		t.Fatalf("served %+v", got)
	}
	if ev.Dropped() != 5 {
		t.Errorf("dropped %d", ev.Dropped())
	}
}

type base struct{}

func (base) Start(context.Context, plugins.StartRequest) error        { return nil }
func (base) MonitorStart(_ context.Context, d string) (string, error) { return d, nil }
func (base) MonitorStop(context.Context, string) error                { return nil }
func (base) Snapshot(context.Context, string) (plugins.DeviceSnapshot, error) {
	return plugins.DeviceSnapshot{}, nil
}
func (base) Events(context.Context, func(plugins.Event) error) error { return nil }

// holdOnly implements Hold and Retrieve, but its PBX (says Services) only
// offers Hold and Park.
type holdOnly struct{ base }

func (holdOnly) Hold(context.Context, plugins.ConnectionRef) error     { return nil }
func (holdOnly) Retrieve(context.Context, plugins.ConnectionRef) error { return nil }
func (holdOnly) Services() []plugins.Service {
	return []plugins.Service{plugins.ServiceHold, plugins.ServicePark}
}

func TestAdaptDeclaresOnlyWhatIsImplemented(t *testing.T) {
	d := sdk.Adapt(holdOnly{})
	ctx := t.Context()
	if err := d.Start(ctx, plugins.StartRequest{Driver: "acme"}); err != nil {
		t.Fatal(err)
	}
	caps, _ := d.Capabilities(ctx)
	if !reflect.DeepEqual(caps.Services, []plugins.Service{plugins.ServiceHold}) {
		t.Errorf("services: %v", caps.Services)
	}
	if err := d.Hold(ctx, plugins.ConnectionRef{}); err != nil {
		t.Errorf("hold: %v", err)
	}
	for name, err := range map[string]error{
		"retrieve (withdrawn)":   d.Retrieve(ctx, plugins.ConnectionRef{}),
		"park (not implemented)": func() error { _, err := d.Park(ctx, plugins.ConnectionRef{}, ""); return err }(),
		"set dnd":                d.SetDND(ctx, "1", true),
	} {
		if !errors.Is(err, plugins.ErrNotSupported) {
			t.Errorf("%s: %v", name, err)
		}
	}
	err := d.Retrieve(ctx, plugins.ConnectionRef{})
	if want := "retrieve: not supported by driver acme"; err == nil || err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}
