package b2bua

import (
	"sync"
	"time"
)

// Observe is what the B2BUA tells about calls for observability, all
// optional: the ladder (which Call-IDs make one call) and the setup-time
// metrics.
type Observe struct {
	// Leg is told each Call-ID that belongs to a call: the caller's
	// (callID == call) when the B2BUA takes the call on, and each B
	// leg's before its INVITE leaves. call is the caller's Call-ID.
	Leg func(call, callID string)
	// Setup is told, once per call, how long after the caller's INVITE
	// the first 18x went to the caller (answered false) and the 2xx
	// (answered true).
	Setup func(answered bool, d time.Duration)
}

// setupTimes remembers what of the setup was reported (call.setup).
type setupTimes struct {
	mu                 sync.Mutex
	progress, answered bool
}

// observeLeg tells Observe.Leg that callID is a leg of c.
func (c *call) observeLeg(callID string) {
	if f := c.gw.o.Observe.Leg; f != nil && c.a != nil {
		f(c.a.callID, callID)
	}
}

// observeSetup reports the first 18x (answered false) or the 2xx sent to
// the caller, once each.
func (c *call) observeSetup(answered bool) {
	f := c.gw.o.Observe.Setup
	if f == nil {
		return
	}
	c.setup.mu.Lock()
	first := false
	if answered && !c.setup.answered {
		c.setup.answered, first = true, true
	} else if !answered && !c.setup.progress {
		c.setup.progress, first = true, true
	}
	c.setup.mu.Unlock()
	if first {
		f(answered, time.Since(c.started))
	}
}
