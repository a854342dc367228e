package attendant

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// fakeSource is a Source whose devices' state the test sets and whose
// calls it records; services not set up answer ErrNotSupported.
type fakeSource struct {
	name     string
	monitors []string

	mu      sync.Mutex
	snaps   map[string]plugins.DeviceSnapshot
	calls   []string // "op args"
	noDefl  bool
	snapErr error
	taken   int // snapshots taken
	dir     []plugins.DirectoryEntry
}

func newFake(name string, devs ...string) *fakeSource {
	f := &fakeSource{name: name, monitors: devs, snaps: map[string]plugins.DeviceSnapshot{}}
	for _, d := range devs {
		f.snaps[d] = plugins.DeviceSnapshot{Device: d, Calls: []plugins.CallSnapshot{}}
	}
	return f
}

func (f *fakeSource) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

func (f *fakeSource) recorded() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeSource) setSnap(s plugins.DeviceSnapshot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snaps[s.Device] = s
}

func (f *fakeSource) Name() string { return f.name }
func (f *fakeSource) Up() bool     { return true }
func (f *fakeSource) Capabilities(context.Context) (plugins.Capabilities, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dir != nil {
		return plugins.Capabilities{Services: []plugins.Service{plugins.ServiceListDevices}}, nil
	}
	return plugins.Capabilities{}, nil
}
func (f *fakeSource) Monitors() []string { return f.monitors }
func (f *fakeSource) MonitorStart(context.Context, string) (string, error) {
	return "", plugins.ErrNotSupported
}
func (f *fakeSource) MonitorStop(context.Context, string) error { return nil }
func (f *fakeSource) Snapshot(_ context.Context, d string) (plugins.DeviceSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.taken++
	if f.snapErr != nil {
		return plugins.DeviceSnapshot{}, f.snapErr
	}
	return f.snaps[d], nil
}
func (f *fakeSource) MakeCall(_ context.Context, r plugins.MakeCallRequest) (plugins.ConnectionRef, error) {
	f.record("make %s %s", r.Calling, r.Called)
	return plugins.ConnectionRef{Device: r.Calling, CallID: "c9"}, nil
}
func (f *fakeSource) Answer(_ context.Context, c plugins.ConnectionRef) error {
	f.record("answer %s %s", c.Device, c.CallID)
	return nil
}
func (f *fakeSource) Clear(_ context.Context, c plugins.ConnectionRef) error {
	f.record("clear %s %s", c.Device, c.CallID)
	return nil
}
func (f *fakeSource) Hold(context.Context, plugins.ConnectionRef) error {
	return plugins.ErrNotSupported
}
func (f *fakeSource) Retrieve(context.Context, plugins.ConnectionRef) error {
	return plugins.ErrNotSupported
}
func (f *fakeSource) Consultation(context.Context, plugins.ConnectionRef, string) (plugins.ConnectionRef, error) {
	return plugins.ConnectionRef{}, plugins.ErrNotSupported
}
func (f *fakeSource) Transfer(context.Context, plugins.ConnectionRef, plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	return plugins.ConnectionRef{}, plugins.ErrNotSupported
}
func (f *fakeSource) SingleStepTransfer(_ context.Context, c plugins.ConnectionRef, to string) (plugins.ConnectionRef, error) {
	f.record("sst %s %s %s", c.Device, c.CallID, to)
	return plugins.ConnectionRef{Device: to, CallID: c.CallID}, nil
}
func (f *fakeSource) Conference(context.Context, plugins.ConnectionRef, plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	return plugins.ConnectionRef{}, plugins.ErrNotSupported
}
func (f *fakeSource) Deflect(_ context.Context, c plugins.ConnectionRef, to string) error {
	if f.noDefl {
		return fmt.Errorf("deflect: %w", plugins.ErrNotSupported)
	}
	f.record("deflect %s %s %s", c.Device, c.CallID, to)
	return nil
}
func (f *fakeSource) GenerateDigits(context.Context, plugins.ConnectionRef, string) error {
	return plugins.ErrNotSupported
}
func (f *fakeSource) Park(_ context.Context, c plugins.ConnectionRef, slot string) (string, error) {
	f.record("park %s %s %s", c.Device, c.CallID, slot)
	if slot == "" {
		slot = "700"
	}
	return slot, nil
}
func (f *fakeSource) Pickup(_ context.Context, device, from string) (plugins.ConnectionRef, error) {
	f.record("pickup %s %s", device, from)
	return plugins.ConnectionRef{Device: device, CallID: "p1"}, nil
}
func (f *fakeSource) SetDND(context.Context, string, bool) error { return plugins.ErrNotSupported }
func (f *fakeSource) SetForwarding(context.Context, string, plugins.Forwarding) error {
	return plugins.ErrNotSupported
}
func (f *fakeSource) SetAgentState(context.Context, plugins.AgentStateRequest) error {
	return plugins.ErrNotSupported
}

func (f *fakeSource) Reconnect(_ context.Context, h, a plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	f.record("reconnect %s/%s %s/%s", h.Device, h.CallID, a.Device, a.CallID)
	return h, nil
}
func (f *fakeSource) Alternate(_ context.Context, h, a plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	f.record("alternate %s/%s %s/%s", h.Device, h.CallID, a.Device, a.CallID)
	return h, nil
}
func (f *fakeSource) ListDevices(_ context.Context, token string, size int) (plugins.DevicePage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("list %q %d", token, size))
	if f.dir == nil {
		return plugins.DevicePage{}, plugins.ErrNotSupported
	}
	// One entry per page, to prove the model follows the pages.
	i := 0
	if token != "" {
		fmt.Sscanf(token, "p%d", &i)
	}
	if i >= len(f.dir) {
		return plugins.DevicePage{}, nil
	}
	p := plugins.DevicePage{Devices: []plugins.DirectoryEntry{f.dir[i]}}
	if i+1 < len(f.dir) {
		p.Next = fmt.Sprintf("p%d", i+1)
	}
	return p, nil
}

var _ Source = (*fakeSource)(nil)

// recv reads the next message of sub, failing after a generous bound.
func recv(t *testing.T, sub *Subscription) Message {
	t.Helper()
	select {
	case b := <-sub.C:
		var m Message
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("message %s: %v", b, err)
		}
		return m
	case <-sub.Done:
		t.Fatalf("subscription ended: %v", sub.Err())
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
	}
	return Message{}
}

// recvType reads messages until one of type typ (and, for device
// messages, accept returns true).
func recvUntil(t *testing.T, sub *Subscription, accept func(Message) bool) Message {
	t.Helper()
	for {
		if m := recv(t, sub); accept(m) {
			return m
		}
	}
}

func ev(src, dev string, seq uint64, typ plugins.EventType, call string, st plugins.ConnectionState) plugins.Event {
	return plugins.Event{Driver: src, Incarnation: 1, Seq: seq, Device: dev, Type: typ, CallID: call, State: st}
}
