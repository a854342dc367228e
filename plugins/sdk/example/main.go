// Command example is a complete CTI driver on the Switchboard SDK: a fake
// PBX in memory. Every device exists; MakeCall creates a call that the far
// end answers at once, emitting Originated, Delivered and Established;
// Hold, Retrieve and Clear work on it. The plugins tests run it under the
// supervisor. Build it, name it in the config with its SHA-256, and the
// gateway runs it like any third-party driver.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

type call struct{ id, from, to string }

// fakePBX implements sdk.Driver plus MakeCall, Hold, Retrieve and Clear.
type fakePBX struct {
	ev *sdk.Events

	mu       sync.Mutex
	cfg      struct{ Vendor string }
	monitors map[string]string                             // device → monitor id
	state    map[string]map[string]plugins.ConnectionState // device → call id → state
	calls    map[string]*call
	next     int
}

func (p *fakePBX) Start(_ context.Context, req plugins.StartRequest) error {
	if len(req.Config) > 0 {
		if err := json.Unmarshal(req.Config, &p.cfg); err != nil {
			return fmt.Errorf("config: %w: %w", plugins.ErrInvalidArgument, err)
		}
	}
	return nil
}

func (p *fakePBX) Events(ctx context.Context, send func(plugins.Event) error) error {
	return p.ev.Serve(ctx, send)
}

func (p *fakePBX) Describe() (string, string) { return p.cfg.Vendor, "example-1" }

func (p *fakePBX) MonitorStart(_ context.Context, device string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if id, ok := p.monitors[device]; ok {
		return id, nil
	}
	p.monitors[device] = "m-" + device
	return p.monitors[device], nil
}

func (p *fakePBX) MonitorStop(_ context.Context, device string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.monitors, device)
	return nil
}

func (p *fakePBX) Snapshot(_ context.Context, device string) (plugins.DeviceSnapshot, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := plugins.DeviceSnapshot{Device: device, Seq: p.ev.Seq(), Calls: []plugins.CallSnapshot{}}
	for id, st := range p.state[device] {
		s.Calls = append(s.Calls, plugins.CallSnapshot{CallID: id, State: st})
	}
	return s, nil
}

// set records device's state in c and emits ev to device's monitor, if any.
func (p *fakePBX) set(device string, c *call, st plugins.ConnectionState, t plugins.EventType, cause plugins.Cause) {
	if p.state[device] == nil {
		p.state[device] = map[string]plugins.ConnectionState{}
	}
	p.state[device][c.id] = st
	if st == plugins.StateNull {
		delete(p.state[device], c.id)
	}
	if id, ok := p.monitors[device]; ok {
		p.ev.Emit(plugins.Event{MonitorID: id, Device: device, CallID: c.id, ConnectionID: c.id + "@" + device,
			Type: t, State: st, Cause: cause, Calling: c.from, Called: c.to})
	}
}

func (p *fakePBX) MakeCall(_ context.Context, r plugins.MakeCallRequest) (plugins.ConnectionRef, error) {
	if r.Calling == "" || r.Called == "" {
		return plugins.ConnectionRef{}, fmt.Errorf("make call: %w: calling and called are required", plugins.ErrInvalidArgument)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next++
	c := &call{id: fmt.Sprintf("c%d", p.next), from: r.Calling, to: r.Called}
	p.calls[c.id] = c
	p.set(c.from, c, plugins.StateConnected, plugins.EventOriginated, plugins.CauseMakeCall)
	p.set(c.from, c, plugins.StateConnected, plugins.EventDelivered, plugins.CauseNewCall)
	p.set(c.to, c, plugins.StateAlerting, plugins.EventDelivered, plugins.CauseNewCall)
	p.set(c.from, c, plugins.StateConnected, plugins.EventEstablished, plugins.CauseNormalClearing)
	p.set(c.to, c, plugins.StateConnected, plugins.EventEstablished, plugins.CauseNormalClearing)
	return plugins.ConnectionRef{Device: c.from, CallID: c.id, ConnectionID: c.id + "@" + c.from}, nil
}

// change moves cr's device to state st in its call and emits t.
func (p *fakePBX) change(cr plugins.ConnectionRef, st plugins.ConnectionState, t plugins.EventType) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.calls[cr.CallID]
	if !ok || (cr.Device != c.from && cr.Device != c.to) {
		return fmt.Errorf("%s: %w: call %q at %q", t, plugins.ErrNotFound, cr.CallID, cr.Device)
	}
	if t != plugins.EventConnectionCleared {
		p.set(cr.Device, c, st, t, plugins.CauseUnspecified)
		return nil
	}
	delete(p.calls, c.id)
	p.set(c.from, c, plugins.StateNull, t, plugins.CauseNormalClearing)
	p.set(c.to, c, plugins.StateNull, t, plugins.CauseNormalClearing)
	return nil
}

func (p *fakePBX) Hold(_ context.Context, cr plugins.ConnectionRef) error {
	return p.change(cr, plugins.StateHold, plugins.EventHeld)
}

func (p *fakePBX) Retrieve(_ context.Context, cr plugins.ConnectionRef) error {
	return p.change(cr, plugins.StateConnected, plugins.EventRetrieved)
}

func (p *fakePBX) Clear(_ context.Context, cr plugins.ConnectionRef) error {
	return p.change(cr, plugins.StateNull, plugins.EventConnectionCleared)
}

func main() {
	sdk.Serve(&fakePBX{ev: sdk.NewEvents(0), monitors: map[string]string{},
		state: map[string]map[string]plugins.ConnectionState{}, calls: map[string]*call{}})
}
