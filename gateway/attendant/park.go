package attendant

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// Parked is a call parked through the API.
type Parked struct {
	// Slot is the API id of the park slot: "<source>:<slot>".
	Slot   string `json:"slot"`
	CallID string `json:"call_id"`
	// Operator is the account that parked it; Device the operator's
	// device it was parked from (where it is recalled to).
	Operator string    `json:"operator"`
	Device   string    `json:"device"`
	Parked   time.Time `json:"parked"`
	// Recall is when the call is recalled to Device (zero: never).
	Recall time.Time `json:"recall,omitzero"`
}

type parkedCall struct {
	Parked
	timer *time.Timer
}

// ErrUnknownSlot is returned for a park slot holding no call parked
// through the API.
var ErrUnknownSlot = errors.New("no call parked in that slot")

// Park parks call (API id) from dev (API id, the operator's device) into
// slot ("" lets the source choose) for account, and arms the recall.
func (m *Model) Park(ctx context.Context, call, dev, slot, account string) (Parked, error) {
	src, ref, err := m.Connection(call, dev)
	if err != nil {
		return Parked{}, err
	}
	got, err := src.Park(ctx, ref, slot)
	if err != nil {
		return Parked{}, err
	}
	if got == "" {
		got = slot
	}
	now := m.now()
	p := &parkedCall{Parked: Parked{Slot: ID(src.Name(), got), CallID: call, Operator: account, Device: dev, Parked: now}}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old := m.parked[p.Slot]; old != nil {
		old.timer.Stop()
	}
	if d := m.opts.ParkRecall; d > 0 {
		p.Recall = now.Add(d)
		slotID := p.Slot
		p.timer = time.AfterFunc(d, func() { m.recallPark(slotID) })
	} else {
		p.timer = time.NewTimer(time.Hour)
		p.timer.Stop()
	}
	m.parked[p.Slot] = p
	v := p.Parked
	m.publishLocked(Message{Type: "parked", Source: src.Name(), CallID: call, Parked: &v}, "", account)
	return v, nil
}

// ParkedCalls lists the calls parked through the API that account may
// see: its own, or all when all is set (seed 004: "operators can see
// calls parked by other operators").
func (m *Model) ParkedCalls(account string, all bool) []Parked {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []Parked{}
	for _, p := range m.parked {
		if all || p.Operator == account {
			out = append(out, p.Parked)
		}
	}
	slices.SortFunc(out, func(a, b Parked) int { return a.Parked.Compare(b.Parked) })
	return out
}

// ParkedIn returns the call parked in slot (API id).
func (m *Model) ParkedIn(slot string) (Parked, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.parked[slot]
	if p == nil {
		return Parked{}, fmt.Errorf("slot %s: %w", slot, ErrUnknownSlot)
	}
	return p.Parked, nil
}

// Unpark retrieves the call parked in slot (API id) to dev (API id) by
// the source's pickup service.
func (m *Model) Unpark(ctx context.Context, slot, dev string) (plugins.ConnectionRef, error) {
	source, local, ok := SplitID(slot)
	if !ok {
		return plugins.ConnectionRef{}, fmt.Errorf("slot %s: %w", slot, ErrUnknownSlot)
	}
	m.mu.Lock()
	p := m.parked[slot]
	src := m.sources[source]
	m.mu.Unlock()
	if p == nil {
		return plugins.ConnectionRef{}, fmt.Errorf("slot %s: %w", slot, ErrUnknownSlot)
	}
	if src == nil {
		return plugins.ConnectionRef{}, fmt.Errorf("slot %s: %w", slot, ErrUnknownSource)
	}
	dsrc, ddev, ok := SplitID(dev)
	if !ok || dsrc != source {
		return plugins.ConnectionRef{}, fmt.Errorf("device %s: %w: not on the slot's source %s", dev, ErrUnknownDevice, source)
	}
	ref, err := src.Pickup(ctx, ddev, local)
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	m.mu.Lock()
	m.unparkLocked(slot, "retrieved by "+dev)
	m.mu.Unlock()
	return ref, nil
}

// unparkLocked forgets the park of slot and tells the clients.
func (m *Model) unparkLocked(slot, why string) {
	p := m.parked[slot]
	if p == nil {
		return
	}
	p.timer.Stop()
	delete(m.parked, slot)
	v := p.Parked
	source, _, _ := SplitID(slot)
	m.publishLocked(Message{Type: "unparked", Source: source, CallID: p.CallID, Parked: &v, Detail: why}, "", p.Operator)
}

// recallPark brings a call that stayed parked too long back to the
// operator's device that parked it.
func (m *Model) recallPark(slot string) {
	m.mu.Lock()
	p := m.parked[slot]
	m.mu.Unlock()
	if p == nil {
		return
	}
	m.spawn(func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, m.opts.SnapshotTimeout)
		defer cancel()
		_, err := m.Unpark(ctx, slot, p.Device)
		m.mu.Lock()
		defer m.mu.Unlock()
		v := p.Parked
		msg := Message{Type: "recall", CallID: p.CallID, Parked: &v, Detail: "park timeout: recalled to " + p.Device}
		msg.Source, _, _ = SplitID(slot)
		if err != nil {
			msg.Detail = "park timeout: recall to " + p.Device + " failed: " + err.Error()
			m.log.Warn("attendant: park recall failed", "slot", slot, "device", p.Device, "error", err)
		}
		m.publishLocked(msg, "", p.Operator)
	})
}

// watchParkLocked forgets a park when the parked call ends (CallCleared,
// ECMA-269 §17.2.2).
func (m *Model) watchParkLocked(source string, ev plugins.Event) {
	if len(m.parked) == 0 || ev.CallID == "" {
		return
	}
	if ev.Type != plugins.EventCallCleared {
		return
	}
	id := ID(source, ev.CallID)
	for slot, p := range m.parked {
		if p.CallID == id {
			m.unparkLocked(slot, "call ended")
		}
	}
}
