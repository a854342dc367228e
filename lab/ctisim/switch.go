package ctisim

import (
	"strings"

	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
)

// What a simulated CSTA switch does alike whatever its vendor: the truth
// its lamps are checked against, and the requests it sends itself.

// CallsAt returns the calls at dev among calls: call ID → dev's
// localConnectionInfo. It is the truth a simulator's lamps are checked
// against.
func CallsAt(calls map[string]*Call, dev string) map[string]string {
	out := map[string]string{}
	for _, c := range calls {
		if p := c.Party(dev); p != nil {
			out[c.ID] = p.State
		}
	}
	return out
}

// CallsByDevice is [CallsAt] for every device at once: device → call ID →
// its localConnectionInfo, devices with no call left out. One pass over
// calls: checking 5,000 lamps device by device took a pass each.
func CallsByDevice(calls map[string]*Call) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, c := range calls {
		for _, p := range c.Parties {
			at := out[p.Device]
			if at == nil {
				at = map[string]string{}
				out[p.Device] = at
			}
			if _, ok := at[c.ID]; !ok { // the first party of dev, as Party finds it
				at[c.ID] = p.State
			}
		}
	}
	return out
}

// NextRequest is the invoke ID of the next request a switch sends on a
// link whose last one was *last: 1 to cstaxml.MaxInvokeID, then 1 again.
func NextRequest(last *int) cstaxml.InvokeID {
	*last = *last%int(cstaxml.MaxInvokeID) + 1
	return cstaxml.InvokeID(*last)
}

// Outgoing is a request a switch sends on a link, with its invoke ID.
type Outgoing struct {
	Conn *Conn
	ID   cstaxml.InvokeID
}

// SendSystemStatus sends the switch's SystemStatus request
// (ECMA-269 §12.2.25 ~, status-reporting.xsd; status e.g. "normal",
// "messagesLost") on each link. A simulator picks the links and their invoke IDs under its lock
// and calls this after releasing it.
func SendSystemStatus(status string, to []Outgoing) {
	for _, o := range to {
		o.Conn.SendMsg(o.ID, &cstaxml.SystemStatus{SystemStatus: status})
	}
}

// InCalls is how many of calls dev has a connection to that has neither
// ended nor failed: the lines it uses.
func InCalls(calls map[string]*Call, dev string) int {
	n := 0
	for _, c := range calls {
		if p := c.Party(dev); p != nil && p.State != StateNull && p.State != StateFail {
			n++
		}
	}
	return n
}

// External reports whether number is on the public network: it starts
// with the switch's external (trunk access) prefix, and more follows.
func External(prefix, number string) bool {
	return prefix != "" && len(number) > len(prefix) && strings.HasPrefix(number, prefix)
}
