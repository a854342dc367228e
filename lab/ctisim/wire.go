package ctisim

import "github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"

// Wire is how a simulated CSTA switch writes its calls: how it names a
// device and a connection in events, how it tells an event to the
// devices a call concerns, and how it forgets an ended call. With it, the
// call operations that unfold alike on every simulated switch are
// written once (answer, clear, hold, retrieve); the ones whose events
// differ between PBXs stay in the vendor's simulator.
type Wire struct {
	// Party names dev in an event (cstaxml.KnownParty, or a device ID).
	Party func(dev string) *cstaxml.Party
	// Conn names dev's connection to call (cstaxml.Conn, or with a device
	// ID).
	Conn func(call, dev string) cstaxml.ConnectionID
	// EmitAll sends mk's event to every device in c, and to extra
	// devices, with each one's local connection state.
	EmitAll func(c *Call, mk func(xref, local string) cstaxml.Message, extra ...string)
	// Forget removes a call that has no party left.
	Forget func(c *Call)
}

// Answer answers p's alerting connection: Established to every device in
// the call.
func (w Wire) Answer(c *Call, p *Party) Result {
	if p.State != StateAlerting {
		return Fail(ErrInvalidState)
	}
	p.State = StateConnected
	return Result{Msg: &cstaxml.AnswerCallResponse{}, After: []func(){func() {
		w.EmitAll(c, func(x, lo string) cstaxml.Message {
			return &cstaxml.EstablishedEvent{MonitorCrossRefID: x, EstablishedConnection: w.Conn(c.ID, p.Device),
				AnsweringDevice: w.Party(p.Device), CallingDevice: w.Party(c.Calling),
				CalledDevice: w.Party(c.Called), LastRedirectionDevice: cstaxml.NotRequiredParty(),
				LocalConnectionInfo: lo, Cause: "newCall"}
		})
	}}}
}

// Clear clears p's connection (see [Wire.Drop]).
func (w Wire) Clear(c *Call, p *Party) Result {
	return Result{Msg: &cstaxml.ClearConnectionResponse{}, After: []func(){func() { w.Drop(c, p, "normalClearing") }}}
}

// Drop removes p from c with ConnectionCleared to every device, and
// clears what is left of a two-party call (one ConnectionCleared per
// connection). When that ends the call, every device that was in it gets
// CallCleared with the same cause (ECMA-269 §17.2.2: the call no longer
// exists at the switch).
func (w Wire) Drop(c *Call, p *Party, cause string) {
	order := []*Party{p}
	if len(c.Parties) <= 2 {
		for _, q := range c.Parties {
			if q != p {
				order = append(order, q)
			}
		}
	}
	for _, q := range order {
		q.State = StateNull
		w.EmitAll(c, func(x, lo string) cstaxml.Message {
			return &cstaxml.ConnectionClearedEvent{MonitorCrossRefID: x, DroppedConnection: w.Conn(c.ID, q.Device),
				ReleasingDevice: w.Party(q.Device), LocalConnectionInfo: lo, Cause: cause}
		})
	}
	if len(order) == len(c.Parties) { // nobody is left: the call is over
		w.EmitAll(c, func(x, _ string) cstaxml.Message {
			return &cstaxml.CallClearedEvent{MonitorCrossRefID: x, ClearedCall: cstaxml.ConnectionID{CallID: c.ID}, Cause: cause}
		})
	}
	w.Prune(c)
}

// Prune removes c's null parties and forgets c when none is left.
func (w Wire) Prune(c *Call) {
	var keep []*Party
	for _, q := range c.Parties {
		if q.State != StateNull {
			keep = append(keep, q)
		}
	}
	c.Parties = keep
	if len(keep) == 0 {
		w.Forget(c)
	}
}

// Hold holds p's connected connection: Held to every device in the call.
func (w Wire) Hold(c *Call, p *Party) Result {
	if p.State != StateConnected {
		return Fail(ErrInvalidState)
	}
	p.State = StateHold
	return Result{Msg: &cstaxml.HoldCallResponse{}, After: []func(){func() { w.Held(c, p, "") }}}
}

// Held tells every device in c that p's connection is held, for cause.
func (w Wire) Held(c *Call, p *Party, cause string) {
	w.EmitAll(c, func(x, lo string) cstaxml.Message {
		return &cstaxml.HeldEvent{MonitorCrossRefID: x, HeldConnection: w.Conn(c.ID, p.Device),
			HoldingDevice: w.Party(p.Device), LocalConnectionInfo: lo, Cause: cause}
	})
}

// Retrieve retrieves p's held connection: Retrieved to every device in
// the call.
func (w Wire) Retrieve(c *Call, p *Party) Result {
	if p.State != StateHold {
		return Fail(ErrInvalidState)
	}
	p.State = StateConnected
	return Result{Msg: &cstaxml.RetrieveCallResponse{}, After: []func(){func() {
		w.EmitAll(c, func(x, lo string) cstaxml.Message {
			return &cstaxml.RetrievedEvent{MonitorCrossRefID: x, RetrievedConnection: w.Conn(c.ID, p.Device),
				RetrievingDevice: w.Party(p.Device), LocalConnectionInfo: lo}
		})
	}}}
}

// Swap is ReconnectCall (reconnect: the active connection ap is cleared)
// and AlternateCall (ap is held); either way the held connection hp is
// retrieved. Both must be the same device's, in different calls.
func (w Wire) Swap(hc *Call, hp *Party, ac *Call, ap *Party, reconnect bool) Result {
	if hc == ac || hp.Device != ap.Device || hp.State != StateHold || ap.State == StateHold {
		return Fail(ErrInvalidState)
	}
	var first Result
	var resp cstaxml.Message
	if reconnect {
		first, resp = w.Clear(ac, ap), &cstaxml.ReconnectCallResponse{}
	} else {
		if ap.State != StateConnected {
			return Fail(ErrInvalidState)
		}
		first, resp = w.Hold(ac, ap), &cstaxml.AlternateCallResponse{}
	}
	second := w.Retrieve(hc, hp)
	return Result{Msg: resp, After: append(first.After, second.After...)}
}
