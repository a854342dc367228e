package gwcti

import (
	"context"
	"fmt"
	"strconv"

	"github.com/switchboard-gw/switchboard/plugins"
)

// Park slots of the calls the gateway carries (b2bua park.go). A slot is
// a name of 1 to 16 letters and digits, given by the caller or the lowest
// free number from 1; Pickup takes a slot (or the parked call's id) and
// connects the call to the picking device. Park recall is the attendant
// model's (it knows the parking operator and the timeout): it picks the
// call up to the parker's device with Pickup.

// maxSlots bounds the calls parked on the gateway.
const maxSlots = 1000

// parked is a call in a park slot.
type parked struct {
	callID, parker string
}

// Park implements attendant.Source: the device's far party waits on the
// gateway, held, in slot (the lowest free number when ""); the device's
// leg is released. It returns the slot.
func (s *Source) Park(_ context.Context, c plugins.ConnectionRef, slot string) (string, error) {
	u, err := s.conn(c)
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	if slot == "" {
		for i := 1; i <= maxSlots && slot == ""; i++ {
			if _, used := s.slots[strconv.Itoa(i)]; !used {
				slot = strconv.Itoa(i)
			}
		}
	}
	switch _, used := s.slots[slot]; {
	case slot == "" || len(s.slots) >= maxSlots:
		s.mu.Unlock()
		return "", fmt.Errorf("gateway source: park: %w: no free slot", plugins.ErrFailedPrecondition)
	case !validSlot(slot):
		s.mu.Unlock()
		return "", fmt.Errorf("gateway source: park: %w: slot %q: 1 to 16 letters and digits", plugins.ErrInvalidArgument, slot)
	case used:
		s.mu.Unlock()
		return "", fmt.Errorf("gateway source: park: %w: slot %s is taken", plugins.ErrFailedPrecondition, slot)
	}
	s.slots[slot] = parked{callID: c.CallID, parker: u} // held while Park runs: its event names it
	s.mu.Unlock()
	if err := s.o.Calls.Park(c.CallID, u); err != nil {
		s.mu.Lock()
		delete(s.slots, slot)
		s.mu.Unlock()
		return "", mapErr("park", err)
	}
	return slot, nil
}

func validSlot(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// slotOf is the slot call id is parked in ("" when none); s.mu held.
func (s *Source) slotOf(id string) string {
	for k, p := range s.slots {
		if p.callID == id {
			return k
		}
	}
	return ""
}

// Pickup implements attendant.Source for parked calls: from is a park
// slot (or the parked call's id); device's phones are called with the
// parked party and the first to answer takes the call (the Transferred
// events, cause call_pickup, tell it; EventFailed that it did not: the
// call stays parked).
func (s *Source) Pickup(_ context.Context, device, from string) (plugins.ConnectionRef, error) {
	u, err := s.device(device)
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	s.mu.Lock()
	p, ok := s.slots[from]
	if !ok {
		if k := s.slotOf(from); k != "" {
			p, ok = s.slots[k], true
		}
	}
	if ok {
		s.pickups[p.callID] = true
	}
	s.mu.Unlock()
	if !ok {
		return plugins.ConnectionRef{}, fmt.Errorf("gateway source: pickup: %w: nothing parked at %q", plugins.ErrNotFound, from)
	}
	done := func(err error) {
		if err == nil {
			return
		}
		s.mu.Lock()
		delete(s.pickups, p.callID)
		s.mu.Unlock()
		s.emit(plugins.Event{Type: plugins.EventFailed, Device: u, CallID: p.callID, State: plugins.StateNull,
			Cause: plugins.CauseDestinationNotObtainable, RawCause: err.Error()})
	}
	if err := s.o.Calls.Unpark(p.callID, p.parker, u, done); err != nil {
		s.mu.Lock()
		delete(s.pickups, p.callID)
		s.mu.Unlock()
		return plugins.ConnectionRef{}, mapErr("pickup", err)
	}
	return plugins.ConnectionRef{Device: u, CallID: p.callID}, nil
}
