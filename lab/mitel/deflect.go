package mitel

import (
	"github.com/switchboard-gw/switchboard/lab/ctisim"
	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// deflect runs DeflectCall (ECMA-269 §17.1.11, callToBeDiverted and
// newDestination): a call alerting at a device, or waiting in a hunt
// group's queue, goes on to the new destination. The connection at the
// deflecting device ends (Diverted, cause redirected), the call leaves
// the group's queue, and the destination is alerted (Delivered,
// lastRedirectionDevice the deflecting device). An operator takes a
// waiting call out of a queue this way, in the order they choose. A
// destination that cannot be alerted (unknown, busy, do not disturb)
// fails the request and the call stays where it was. Called with s.mu
// held.
func (s *Sim) deflect(cid cstaxml.ConnectionID, to string) ctisim.Result {
	c, p, e := s.find(cid)
	if e != nil {
		return ctisim.Fail(e)
	}
	if p.State != ctisim.StateAlerting && p.State != ctisim.StateQueued {
		return ctisim.Fail(ctisim.ErrInvalidState)
	}
	if to == "" || to == p.Device {
		return ctisim.Fail(ctisim.ErrInvalidDevice)
	}
	if s.refuses(to) != "" {
		return ctisim.Fail(ctisim.ErrInvalidState)
	}
	dev := p.Device
	p.State = ctisim.StateNull
	s.hunt.Remove(dev, c)
	return ctisim.Result{Msg: &cstaxml.DeflectCallResponse{}, After: []func(){func() {
		s.emitAll(c, func(x, lo string) cstaxml.Message {
			return &cstaxml.DivertedEvent{MonitorCrossRefID: x, Connection: cstaxml.Conn(c.ID, dev),
				DivertingDevice: cstaxml.KnownParty(dev), NewDestination: cstaxml.KnownParty(to),
				LastRedirectionDevice: cstaxml.NotRequiredParty(), LocalConnectionInfo: lo, Cause: "redirected"}
		})
		s.wire.Prune(c)
		s.deliver(c, to, cstaxml.KnownParty(dev), "redirected")
	}}}
}
