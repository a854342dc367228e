package ctisim

import (
	"strconv"

	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// Hunt groups, as both CSTA simulators run them (ECMA-269 §17.2.14
// Queued, §17.2.8 Diverted; ~ marks a cause value taken from the
// ECMA-269 EventCause list without a trace): a call to a group is
// offered to the group's first free member, or waits in the group's
// queue until one is free. The simulator supplies its own wire encoding
// of devices and connections and its own delivery (the fields of [Hunt]).

// Hunt holds the hunt groups' queues and runs their flow. A simulator
// fills in its fields; every method is called with the simulator's lock
// held.
type Hunt struct {
	// Wire is how the simulator names devices and connections in events,
	// tells a call's devices, and forgets an ended call.
	Wire Wire
	// Members are group g's members, in hunting order.
	Members func(g string) []string
	// Refuses is the cause a call to dev fails with, "" if dev can be
	// alerted now.
	Refuses func(dev string) string
	// Live reports whether c is still one of the switch's calls.
	Live func(c *Call) bool
	// Deliver alerts member with c, which group g redirected to it
	// (Delivered, cause distributed).
	Deliver func(c *Call, member, g string)

	queues map[string][]*Call // group → calls waiting, first in line first
}

// Enter offers c to hunt group g: the group's first free member is
// alerted (Diverted at the group, then Delivered, cause distributed ~);
// with none free the call waits in the group's queue: the group holds a
// queued connection and the caller and the group get QueuedEvent with the
// queue length (numberQueued) and the calls ahead (callsInFront), cause
// enteringDistribution ~.
func (h *Hunt) Enter(c *Call, g string) {
	c.Parties = append(c.Parties, &Party{Device: g, State: StateQueued})
	if h.queues == nil {
		h.queues = map[string][]*Call{}
	}
	h.queues[g] = append(h.queues[g], c)
	if h.distribute(g) {
		return
	}
	n := len(h.queues[g])
	w := h.Wire
	from, gp := w.Party(c.Calling), w.Party(g)
	w.EmitAll(c, func(x, lo string) cstaxml.Message {
		return &cstaxml.QueuedEvent{MonitorCrossRefID: x, QueuedConnection: w.Conn(c.ID, g), Queue: gp,
			CallingDevice: from, CalledDevice: gp, LastRedirectionDevice: cstaxml.NotRequiredParty(),
			NumberQueued: strconv.Itoa(n), CallsInFront: strconv.Itoa(n - 1), LocalConnectionInfo: lo,
			Cause: "enteringDistribution"}
	})
}

// Distribute hands queued calls to group members that became free; a
// simulator calls it whenever a call ends.
func (h *Hunt) Distribute() {
	for g := range h.queues {
		for h.distribute(g) {
		}
	}
}

// Remove takes c out of group g's queue (the call left it another way,
// e.g. deflected to an operator); it reports whether c was waiting there.
func (h *Hunt) Remove(g string, c *Call) bool {
	q := h.queues[g]
	for i, x := range q {
		if x == c {
			h.queues[g] = append(q[:i:i], q[i+1:]...)
			return true
		}
	}
	return false
}

// Waiting is the number of calls in group g's queue.
func (h *Hunt) Waiting(g string) int { return len(h.queues[g]) }

// distribute alerts g's first free member with the first call in g's
// queue; false when there is no call or no free member.
func (h *Hunt) distribute(g string) bool {
	q := h.queues[g]
	for len(q) > 0 && !h.Live(q[0]) { // ended while it waited
		q = q[1:]
	}
	h.queues[g] = q
	if len(q) == 0 {
		return false
	}
	member := ""
	for _, m := range h.Members(g) {
		if h.Refuses(m) == "" {
			member = m
			break
		}
	}
	if member == "" {
		return false
	}
	c := q[0]
	h.queues[g] = q[1:]
	gp := c.Party(g)
	if gp == nil {
		return false
	}
	gp.State = StateNull
	w := h.Wire
	w.EmitAll(c, func(x, lo string) cstaxml.Message {
		return &cstaxml.DivertedEvent{MonitorCrossRefID: x, Connection: w.Conn(c.ID, g),
			DivertingDevice: w.Party(g), NewDestination: w.Party(member), LocalConnectionInfo: lo, Cause: "distributed"}
	})
	w.Prune(c)
	h.Deliver(c, member, g)
	return true
}
