package plugins_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// flakyConfig is the flaky driver's config: how its "PBX" misbehaves.
type flakyConfig struct {
	// Incompatible makes Start fail with plugins.ErrIncompatible.
	Incompatible string `json:"incompatible"`
	// Refuse: MonitorStart of the device is refused (licence shortage,
	// FAILED_PRECONDITION) this many times, then accepted.
	Refuse map[string]int `json:"refuse"`
	// Reject: the devices do not exist (NOT_FOUND), always.
	Reject []string `json:"reject"`
	// Timeout: MonitorStart of the device hangs past its deadline this
	// many times.
	Timeout map[string]int `json:"timeout"`
	// SlowMS: every MonitorStart takes this many milliseconds (a PBX
	// answering slowly: a long restore).
	SlowMS int `json:"slow_ms"`
}

// flaky is a driver whose PBX refuses, times out, loses events and drops
// its link on command. It numbers its events itself so that a test can
// make a gap. Commands are MakeCall with Calling "cmd":
//
//	"dnd D"    DND on at D without an event (a lost event)
//	"event D"  a DO_NOT_DISTURB event for D
//	"gap"      skip three sequence numbers
//	"resync"   a RESYNC event (the PBX said messagesLost)
//	"down"/"up" the driver's PBX link goes down / comes back
type flaky struct {
	mu       sync.Mutex
	cfg      flakyConfig
	seq      uint64
	ch       chan plugins.Event
	dnd      map[string]bool
	mons     map[string]bool
	down     bool
	attempts map[string]int
}

func newFlaky() *flaky {
	return &flaky{ch: make(chan plugins.Event, 65536), dnd: map[string]bool{}, mons: map[string]bool{}, attempts: map[string]int{}}
}

func (f *flaky) emitLocked(ev plugins.Event) {
	f.seq++
	ev.Seq, ev.Time = f.seq, time.Now()
	f.ch <- ev
}

func (f *flaky) Start(_ context.Context, r plugins.StartRequest) error {
	if err := json.Unmarshal(r.Config, &f.cfg); err != nil {
		return fmt.Errorf("flaky config: %w: %w", plugins.ErrInvalidArgument, err)
	}
	if f.cfg.Incompatible != "" {
		return fmt.Errorf("flaky: expected %s: %w", f.cfg.Incompatible, plugins.ErrIncompatible)
	}
	return nil
}

func (f *flaky) MonitorStart(ctx context.Context, d string) (string, error) {
	f.mu.Lock()
	f.attempts[d]++
	n := f.attempts[d]
	f.mu.Unlock()
	if f.cfg.SlowMS > 0 {
		select {
		case <-time.After(time.Duration(f.cfg.SlowMS) * time.Millisecond):
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	switch {
	case slices.Contains(f.cfg.Reject, d):
		return "", fmt.Errorf("device %s: invalidDeviceID: %w", d, plugins.ErrNotFound)
	case n <= f.cfg.Refuse[d]:
		return "", fmt.Errorf("device %s: overallMonitorLimitExceeded: %w", d, plugins.ErrFailedPrecondition)
	case n <= f.cfg.Timeout[d]:
		<-ctx.Done()
		return "", ctx.Err()
	}
	f.mu.Lock()
	f.mons[d] = true
	f.mu.Unlock()
	return "f-" + d, nil
}

func (f *flaky) MonitorStop(_ context.Context, d string) error {
	f.mu.Lock()
	delete(f.mons, d)
	f.mu.Unlock()
	return nil
}

func (f *flaky) Snapshot(_ context.Context, d string) (plugins.DeviceSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.mons[d] {
		return plugins.DeviceSnapshot{}, fmt.Errorf("%s: %w", d, plugins.ErrNotFound)
	}
	return plugins.DeviceSnapshot{Device: d, DND: f.dnd[d], Seq: f.seq, Stale: f.down}, nil
}

func (f *flaky) Events(ctx context.Context, send func(plugins.Event) error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-f.ch:
			if err := send(ev); err != nil {
				return err
			}
		}
	}
}

func (f *flaky) MakeCall(_ context.Context, r plugins.MakeCallRequest) (plugins.ConnectionRef, error) {
	if r.Calling != "cmd" {
		return plugins.ConnectionRef{}, plugins.ErrNotSupported
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cmd, arg, _ := strings.Cut(r.Called, " ")
	switch cmd {
	case "dnd":
		f.dnd[arg] = true
	case "event":
		f.emitLocked(plugins.Event{Type: plugins.EventDoNotDisturb, Device: arg, MonitorID: "f-" + arg, DND: f.dnd[arg]})
	case "gap":
		f.seq += 3
	case "resync":
		f.emitLocked(plugins.Event{Type: plugins.EventResync})
	case "down":
		f.down = true
		f.emitLocked(plugins.Event{Type: plugins.EventLinkDown, Cause: plugins.CauseLinkFailure})
	case "up":
		f.down = false
		f.emitLocked(plugins.Event{Type: plugins.EventLinkUp})
	default:
		return plugins.ConnectionRef{}, fmt.Errorf("flaky: command %q: %w", r.Called, plugins.ErrInvalidArgument)
	}
	return plugins.ConnectionRef{Device: "cmd", CallID: "x"}, nil
}
