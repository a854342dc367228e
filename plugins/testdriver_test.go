package plugins_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// testPBX implements every service and records its calls. Device "hang"
// makes Hold block forever, ignoring its ctx, like a broken driver; Retrieve
// on device "wait" waits for its ctx and reports whether it had a deadline.
type testPBX struct {
	ev *sdk.Events

	mu       sync.Mutex
	calls    []string
	deadline bool
}

func newTestPBX() *testPBX { return &testPBX{ev: sdk.NewEvents(0)} }

func (p *testPBX) rec(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, fmt.Sprintf(format, args...))
}

func (p *testPBX) last() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.calls) == 0 {
		return ""
	}
	return p.calls[len(p.calls)-1]
}

// fullEvent is an event with every field set, for round trips.
func fullEvent(device string) plugins.Event {
	return plugins.Event{MonitorID: "m-" + device, Device: device, CallID: "c1", ConnectionID: "c1@" + device,
		Type: plugins.EventConferenced, State: plugins.StateConnected, Cause: plugins.CauseConference,
		RawCause: "16 CONF", Calling: "1001", Called: "1002", Other: "1003", OldCallID: "c0",
		PBXTime: time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC),
		Time:    time.Date(2026, 3, 1, 10, 0, 1, 5, time.UTC), DND: true,
		Forwarding: &plugins.Forwarding{Type: plugins.ForwardBusy, To: "2000", Enabled: true},
		AgentState: plugins.AgentReady, CallingName: "Anna Alt", CalledName: "Bärbel Bö", OtherName: "Carl",
		OriginalCalled: "1009", LastRedirection: "1008", GlobalCallID: "00001002251765101234",
		PartyType: plugins.PartyTrunk, MessageWaiting: true, QueueLength: 3, QueuePosition: 2}
}

func (p *testPBX) Start(_ context.Context, r plugins.StartRequest) error {
	p.rec("start %s %s", r.Driver, r.Config)
	return nil
}
func (p *testPBX) Describe() (string, string) { return "test", "1" }
func (p *testPBX) MonitorStart(_ context.Context, d string) (string, error) {
	if d == "bad" {
		return "", fmt.Errorf("device %q: %w", d, plugins.ErrNotFound)
	}
	return "m-" + d, nil
}
func (p *testPBX) MonitorStop(context.Context, string) error { return nil }
func (p *testPBX) Snapshot(_ context.Context, d string) (plugins.DeviceSnapshot, error) {
	return plugins.DeviceSnapshot{Device: d, Seq: p.ev.Seq(), DND: true, AgentState: plugins.AgentBusy,
		Calls: []plugins.CallSnapshot{{CallID: "c1", ConnectionID: "x", State: plugins.StateHold, Other: "1002",
			OtherName: "Bob", PartyType: plugins.PartyExternal, GlobalCallID: "g1", OriginalCalled: "1009",
			LastRedirection: "1008", Calling: "1002", Called: "1009", QueuePosition: 2}},
		Forwarding:     []plugins.Forwarding{{Type: plugins.ForwardImmediate, To: "3000", Enabled: true}},
		MessageWaiting: true, Category: plugins.CategoryGroup}, nil
}
func (p *testPBX) Reconnect(_ context.Context, h, a plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	p.rec("reconnect %v %v", h, a)
	return h, nil
}
func (p *testPBX) Alternate(_ context.Context, h, a plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	p.rec("alternate %v %v", h, a)
	return h, nil
}
func (p *testPBX) ListDevices(_ context.Context, token string, size int) (plugins.DevicePage, error) {
	p.rec("list %q %d", token, size)
	if token == "" {
		return plugins.DevicePage{Devices: []plugins.DirectoryEntry{{Device: "1001", Name: "Anna", Type: plugins.PartyInternal}}, Next: "p2"}, nil
	}
	return plugins.DevicePage{Devices: []plugins.DirectoryEntry{{Device: "0301234", Name: "Trunk 1", Type: plugins.PartyTrunk},
		{Device: "600", Name: "Reception", Type: plugins.PartyInternal, Category: plugins.CategoryACD}}}, nil
}
func (p *testPBX) ReportsMessageWaiting() bool { return true }
func (p *testPBX) Events(ctx context.Context, send func(plugins.Event) error) error {
	return p.ev.Serve(ctx, send)
}
func (p *testPBX) MakeCall(_ context.Context, r plugins.MakeCallRequest) (plugins.ConnectionRef, error) {
	p.rec("make %s %s %s %s", r.Calling, r.Called, r.AccountCode, r.UserData)
	p.ev.Emit(fullEvent(r.Calling))
	return plugins.ConnectionRef{Device: r.Calling, CallID: "c1", ConnectionID: "k1"}, nil
}
func (p *testPBX) Answer(_ context.Context, c plugins.ConnectionRef) error {
	p.rec("answer %v", c)
	return nil
}
func (p *testPBX) Clear(_ context.Context, c plugins.ConnectionRef) error {
	p.rec("clear %v", c)
	if c.CallID == "" {
		return fmt.Errorf("call %q: %w", c.CallID, plugins.ErrNotFound)
	}
	return nil
}
func (p *testPBX) Hold(_ context.Context, c plugins.ConnectionRef) error {
	p.rec("hold %v", c)
	if c.Device == "hang" {
		select {} // a driver bug: blocks forever, ignores ctx
	}
	return nil
}
func (p *testPBX) Retrieve(ctx context.Context, c plugins.ConnectionRef) error {
	p.rec("retrieve %v", c)
	if c.Device == "wait" {
		_, ok := ctx.Deadline()
		p.mu.Lock()
		p.deadline = ok
		p.mu.Unlock()
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}
func (p *testPBX) Consultation(_ context.Context, c plugins.ConnectionRef, to string) (plugins.ConnectionRef, error) {
	p.rec("consult %v %s", c, to)
	return plugins.ConnectionRef{Device: c.Device, CallID: "c2"}, nil
}
func (p *testPBX) Transfer(_ context.Context, h, a plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	p.rec("transfer %v %v", h, a)
	return plugins.ConnectionRef{Device: "t", CallID: "c3"}, nil
}
func (p *testPBX) SingleStepTransfer(_ context.Context, c plugins.ConnectionRef, to string) (plugins.ConnectionRef, error) {
	p.rec("sst %v %s", c, to)
	return plugins.ConnectionRef{Device: to, CallID: "c4"}, nil
}
func (p *testPBX) Conference(_ context.Context, h, a plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	p.rec("conference %v %v", h, a)
	return plugins.ConnectionRef{Device: "f", CallID: "c5"}, nil
}
func (p *testPBX) Deflect(_ context.Context, c plugins.ConnectionRef, to string) error {
	p.rec("deflect %v %s", c, to)
	return nil
}
func (p *testPBX) GenerateDigits(_ context.Context, c plugins.ConnectionRef, digits string) error {
	p.rec("digits %v %s", c, digits)
	return nil
}
func (p *testPBX) Park(_ context.Context, c plugins.ConnectionRef, slot string) (string, error) {
	p.rec("park %v %s", c, slot)
	return "701", nil
}
func (p *testPBX) Pickup(_ context.Context, device, from string) (plugins.ConnectionRef, error) {
	p.rec("pickup %s %s", device, from)
	return plugins.ConnectionRef{Device: device, CallID: "c6"}, nil
}
func (p *testPBX) SetDND(_ context.Context, device string, on bool) error {
	p.rec("dnd %s %v", device, on)
	return nil
}
func (p *testPBX) SetForwarding(_ context.Context, device string, f plugins.Forwarding) error {
	p.rec("fwd %s %v", device, f)
	return nil
}
func (p *testPBX) SetAgentState(_ context.Context, r plugins.AgentStateRequest) error {
	p.rec("agent %v", r)
	return nil
}

// minimalPBX implements only what every driver must.
type minimalPBX struct{ ev *sdk.Events }

func (minimalPBX) Start(context.Context, plugins.StartRequest) error        { return nil }
func (minimalPBX) MonitorStart(_ context.Context, d string) (string, error) { return d, nil }
func (minimalPBX) MonitorStop(context.Context, string) error                { return nil }
func (minimalPBX) Snapshot(_ context.Context, d string) (plugins.DeviceSnapshot, error) {
	return plugins.DeviceSnapshot{Device: d}, nil
}
func (m minimalPBX) Events(ctx context.Context, send func(plugins.Event) error) error {
	return m.ev.Serve(ctx, send)
}
