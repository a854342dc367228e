package attendant

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// transferWatch is a safe transfer in progress: a blind transfer made
// through the API that must be answered within Options.SafeTransfer.
type transferWatch struct {
	source   string
	callID   string // the transferred call, as the source names it
	target   string // the target device, as the source names it
	operator string // the operator's device, as the source names it
	account  string
	timer    *time.Timer
	done     bool
}

// BlindTransfer transfers call (API id) from dev (API id) to to by the
// source's single-step transfer. With safe transfer on (Options.
// SafeTransfer > 0) the model watches the transferred call: answered →
// done; not answered in time or refused busy → recalled to dev (seed 004:
// camp-on/recall). It returns the transferred call's API id.
func (m *Model) BlindTransfer(ctx context.Context, call, dev, to, account string) (string, error) {
	src, ref, err := m.Connection(call, dev)
	if err != nil {
		return "", err
	}
	res, err := src.SingleStepTransfer(ctx, ref, to)
	if err != nil {
		return "", err
	}
	newCall := res.CallID
	if newCall == "" {
		newCall = ref.CallID
	}
	if m.opts.SafeTransfer <= 0 {
		return ID(src.Name(), newCall), nil
	}
	w := &transferWatch{source: src.Name(), callID: newCall, target: to, operator: ref.Device, account: account}
	key := ID(w.source, w.callID)
	m.mu.Lock()
	defer m.mu.Unlock()
	if old := m.pending[key]; old != nil {
		old.timer.Stop()
	}
	m.pending[key] = w
	w.timer = time.AfterFunc(m.opts.SafeTransfer, func() {
		m.spawn(func(context.Context) { m.recallTransfer(key, "not answered in time") })
	})
	// The target may have answered already (events before this lock).
	if d := m.devices[ID(w.source, to)]; d != nil {
		if c := d.calls[newCall]; c != nil && c.state == plugins.StateConnected {
			m.finishTransferLocked(key)
		}
	}
	return key, nil
}

// watchTransferLocked follows the calls of safe transfers: answered at
// the target ends the watch, a failed (busy) target or a cleared call
// too; failed recalls at once.
func (m *Model) watchTransferLocked(source string, ev plugins.Event) {
	if len(m.pending) == 0 || ev.CallID == "" {
		return
	}
	key := ID(source, ev.CallID)
	if ev.OldCallID != "" {
		if w := m.pending[ID(source, ev.OldCallID)]; w != nil { // the call was renamed
			delete(m.pending, ID(source, ev.OldCallID))
			w.callID = ev.CallID
			m.pending[key] = w
		}
	}
	w := m.pending[key]
	if w == nil {
		return
	}
	switch {
	case ev.Type == plugins.EventEstablished && (ev.Device == w.target || ev.Other == w.target):
		m.finishTransferLocked(key)
	case ev.Type == plugins.EventFailed || ev.Cause == plugins.CauseBusy:
		w.timer.Stop()
		m.spawn(func(context.Context) { m.recallTransfer(key, "target busy") })
	case ev.Type == plugins.EventCallCleared:
		m.finishTransferLocked(key)
	}
}

func (m *Model) finishTransferLocked(key string) {
	if w := m.pending[key]; w != nil {
		w.timer.Stop()
		w.done = true
		delete(m.pending, key)
	}
}

// PendingTransfers lists the API ids of safe transfers still watched.
func (m *Model) PendingTransfers() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.pending))
	for k := range m.pending {
		out = append(out, k)
	}
	return out
}

// recallTransfer brings the transferred call back to the operator: a
// deflection of the target's ringing connection to the operator's
// device, or where the source cannot deflect, a directed pickup of it
// from the operator's device.
func (m *Model) recallTransfer(key, why string) {
	m.mu.Lock()
	w := m.pending[key]
	if w == nil || w.done {
		m.mu.Unlock()
		return
	}
	w.done = true
	delete(m.pending, key)
	src := m.sources[w.source]
	var target plugins.ConnectionRef
	target = plugins.ConnectionRef{Device: w.target, CallID: w.callID}
	if d := m.devices[ID(w.source, w.target)]; d != nil {
		if c := d.calls[w.callID]; c != nil {
			target.ConnectionID = c.connID
		}
	}
	m.mu.Unlock()
	if src == nil {
		return
	}
	ctx, cancel := context.WithTimeout(m.ctx, m.opts.SnapshotTimeout)
	defer cancel()
	err := src.Deflect(ctx, target, w.operator)
	if errors.Is(err, plugins.ErrNotSupported) {
		_, err = src.Pickup(ctx, w.operator, w.target)
	}
	detail := "safe transfer to " + w.target + " " + why + ": recalled to " + w.operator
	if err != nil {
		detail = "safe transfer to " + w.target + " " + why + ": recall to " + w.operator + " failed: " + err.Error()
		m.log.Warn("attendant: safe transfer recall failed", "call", key, "error", err)
	}
	m.mu.Lock()
	m.publishLocked(Message{Type: "recall", Source: w.source, CallID: key, Detail: detail}, ID(w.source, w.operator), "")
	m.mu.Unlock()
}
