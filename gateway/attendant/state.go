package attendant

import (
	"slices"
	"strings"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// LineState is a device's line as the busy lamp field shows it.
type LineState string

// The line states. Busy covers connected and dialling (initiated);
// ringing is alerting (or a call queued at the device).
const (
	LineIdle    LineState = "idle"
	LineRinging LineState = "ringing"
	LineBusy    LineState = "busy"
	LineHeld    LineState = "held"
	// LineOffline: the source cannot monitor the device (monitor ended).
	LineOffline LineState = "offline"
	// LineUnknown: no snapshot of the device yet.
	LineUnknown LineState = "unknown"
)

// ID joins a source name and its own id into an API id (common brief:
// "<source>:<id>").
func ID(source, id string) string { return source + ":" + id }

// SplitID splits an API id on its first ":" into source and the source's
// own id; ok is false when either part is empty.
func SplitID(id string) (source, local string, ok bool) {
	source, local, ok = strings.Cut(id, ":")
	return source, local, ok && source != "" && local != ""
}

// Connection is one device's part in a call, as the device's monitor
// reports it (ECMA-269 §6.1.5 local connection state).
type Connection struct {
	CallID       string `json:"call_id"`
	ConnectionID string `json:"connection_id,omitempty"`
	State        string `json:"state"`
	// Other is the far end, when the PBX says (as the PBX names it),
	// OtherName its name and PartyType where it is (internal, external,
	// trunk).
	Other     string `json:"other,omitempty"`
	OtherName string `json:"other_name,omitempty"`
	PartyType string `json:"party_type,omitempty"`
	Calling   string `json:"calling,omitempty"`
	// CallingName and CalledName are the parties' names as the PBX
	// gives them.
	CallingName string `json:"calling_name,omitempty"`
	Called      string `json:"called,omitempty"`
	CalledName  string `json:"called_name,omitempty"`
	// OriginalCalled is the number first called; ForwardedFrom the
	// device that last redirected the call here.
	OriginalCalled string `json:"original_called,omitempty"`
	ForwardedFrom  string `json:"forwarded_from,omitempty"`
	// GlobalCallID is the PBX's id of the call that is the same at
	// every device (Avaya UCID, Xsi extTrackingId, CSTA correlator).
	GlobalCallID string    `json:"global_call_id,omitempty"`
	Since        time.Time `json:"since"`
}

// Device is one device as the API shows it.
type Device struct {
	// ID is "<source>:<device>".
	ID     string `json:"id"`
	Source string `json:"source"`
	Device string `json:"device"`
	// Name is the device's name from the source's directory (or as the
	// PBX named it in a call).
	Name string    `json:"name,omitempty"`
	Line LineState `json:"line"`
	// Calls are the device's connections; call ids are API ids
	// ("<source>:<call>").
	Calls      []Connection         `json:"calls"`
	DND        bool                 `json:"dnd"`
	Forwarding []plugins.Forwarding `json:"forwarding"`
	AgentState string               `json:"agent_state,omitempty"`
	// MessageWaiting: the device's message-waiting lamp is on.
	MessageWaiting bool `json:"message_waiting"`
	// Category is the kind of device when the source says (station,
	// acd, group); Queue is set for a device calls wait at (queue.go).
	Category string `json:"category,omitempty"`
	Queue    *Queue `json:"queue,omitempty"`
	// UserPresence is what the user set (PUT /api/v1/presence/{id}).
	UserPresence Presence `json:"user_presence,omitempty"`
	// Presence is the aggregate (seed 002 precedence).
	Presence Presence `json:"presence"`
	// Stale is true while the source's link is down or after an event
	// gap, until a fresh snapshot arrives.
	Stale   bool      `json:"stale"`
	Updated time.Time `json:"updated"`
}

// Party is one device's connection in a [Call].
type Party struct {
	Device       string `json:"device"`
	Name         string `json:"name,omitempty"`
	ConnectionID string `json:"connection_id,omitempty"`
	State        string `json:"state"`
	// PartyType is where the far end is, as this device sees it.
	PartyType string `json:"party_type,omitempty"`
}

// Call is an active call as the API shows it: every monitored device's
// connection in it.
type Call struct {
	ID          string `json:"id"`
	Source      string `json:"source"`
	Calling     string `json:"calling,omitempty"`
	CallingName string `json:"calling_name,omitempty"`
	Called      string `json:"called,omitempty"`
	CalledName  string `json:"called_name,omitempty"`
	// OriginalCalled and ForwardedFrom: see [Connection].
	OriginalCalled string `json:"original_called,omitempty"`
	ForwardedFrom  string `json:"forwarded_from,omitempty"`
	// GlobalCallID is the PBX's id that is the same at every device.
	GlobalCallID string    `json:"global_call_id,omitempty"`
	Parties      []Party   `json:"parties"`
	Since        time.Time `json:"since"`
}

// conn is a device's connection in the model.
type conn struct {
	callID, connID                        string
	state                                 plugins.ConnectionState
	other, calling, called                string
	otherName, callingName, calledName    string
	originalCalled, forwardedFrom, global string
	party                                 plugins.PartyType
	since                                 time.Time
	// queuePos is the PBX's position of a queued call (0: not said);
	// order numbers the device's connections as they appeared.
	queuePos int
	order    uint64
}

// device is the model's state of one monitored device.
type device struct {
	source, dev string
	// idx numbers the device in the model, from 1, for ever: stream
	// filters test a bit, not a map (Subscription.devBits).
	idx     int
	calls   map[string]*conn // source call id →
	name    string           // from the directory or a call event
	dirName bool             // name came from the directory (events do not override it)
	mwi     bool
	dnd     bool
	fwd     []plugins.Forwarding
	agent   plugins.AgentState
	// category is what the source says the device is; pbxQueued the
	// queue length its last QUEUED event gave (queue.go).
	category  plugins.DeviceCategory
	pbxQueued int
	nconns    uint64
	user      Presence
	known     bool // a snapshot was applied
	offline   bool // the monitor ended
	stale     bool
	updated   time.Time
	// seq and inc are the source's sequence number and incarnation of
	// the newest event or snapshot applied (ordering, see Model.Apply).
	seq, inc uint64
}

func newDevice(source, dev string) *device {
	return &device{source: source, dev: dev, calls: map[string]*conn{}}
}

// line derives the lamp: a connected or dialling call makes it busy,
// else an alerting or queued one ringing, else a held one held.
func (d *device) line() LineState {
	switch {
	case d.offline:
		return LineOffline
	case !d.known:
		return LineUnknown
	}
	ringing, held := false, false
	for _, c := range d.calls {
		switch c.state {
		case plugins.StateConnected, plugins.StateInitiated, plugins.StateFail:
			return LineBusy
		case plugins.StateAlerting, plugins.StateQueued:
			ringing = true
		case plugins.StateHold:
			held = true
		}
	}
	switch {
	case ringing:
		return LineRinging
	case held:
		return LineHeld
	}
	return LineIdle
}

// view is the device's API view.
func (d *device) view() Device {
	v := Device{
		ID: ID(d.source, d.dev), Source: d.source, Device: d.dev, Name: d.name, Line: d.line(),
		Calls: make([]Connection, 0, len(d.calls)), DND: d.dnd, MessageWaiting: d.mwi,
		Forwarding: append([]plugins.Forwarding{}, d.fwd...), UserPresence: d.user,
		Stale: d.stale, Updated: d.updated,
	}
	if d.agent != plugins.AgentUnspecified {
		v.AgentState = d.agent.String()
	}
	if d.category != plugins.CategoryUnspecified {
		v.Category = d.category.String()
	}
	v.Queue = d.queue()
	for _, c := range d.calls {
		v.Calls = append(v.Calls, c.view(d.source))
	}
	slices.SortFunc(v.Calls, func(a, b Connection) int { return a.Since.Compare(b.Since) })
	v.Presence = Aggregate(d.presenceInputs()...)
	return v
}

// view is the connection's API view.
func (c *conn) view(source string) Connection {
	v := Connection{CallID: ID(source, c.callID), ConnectionID: c.connID, State: c.state.String(),
		Other: c.other, OtherName: c.otherName, Calling: c.calling, CallingName: c.callingName,
		Called: c.called, CalledName: c.calledName, OriginalCalled: c.originalCalled,
		ForwardedFrom: c.forwardedFrom, GlobalCallID: c.global, Since: c.since}
	if c.party != plugins.PartyUnspecified {
		v.PartyType = c.party.String()
	}
	return v
}

// presenceInputs are the device's presence sessions (seed 002: line
// presence, DND, the user's own).
func (d *device) presenceInputs() []Presence {
	in := []Presence{LinePresence(d.line(), d.stale)}
	if d.dnd {
		in = append(in, PresenceDND)
	}
	if d.user != "" {
		in = append(in, d.user)
	}
	return in
}

// applySnapshot replaces the device's calls and features with s.
func (d *device) applySnapshot(s plugins.DeviceSnapshot, now time.Time) {
	old := d.calls
	d.calls = make(map[string]*conn, len(s.Calls))
	for _, c := range s.Calls {
		if c.State == plugins.StateNull || c.CallID == "" {
			continue
		}
		since := now
		if o, ok := old[c.CallID]; ok {
			since = o.since
		}
		d.nconns++
		d.calls[c.CallID] = &conn{callID: c.CallID, connID: c.ConnectionID, state: c.State, other: c.Other,
			otherName: c.OtherName, party: c.PartyType, global: c.GlobalCallID, calling: c.Calling, called: c.Called,
			originalCalled: c.OriginalCalled, forwardedFrom: c.LastRedirection, since: since,
			queuePos: c.QueuePosition, order: d.nconns}
	}
	if s.Category != plugins.CategoryUnspecified {
		d.category = s.Category
	}
	d.pbxQueued = 0
	d.mwi = s.MessageWaiting
	d.dnd = s.DND
	d.fwd = append([]plugins.Forwarding(nil), s.Forwarding...)
	d.agent = s.AgentState
	d.known, d.offline, d.stale = true, false, false
	d.updated = now
}

// applyCall updates the device's connection after a call event, the way
// the drivers' own tracking does (drivers/cstamodel): the event's State
// is the monitored device's local connection state.
func (d *device) applyCall(ev plugins.Event, now time.Time) {
	d.updated = now
	if ev.OldCallID != "" {
		delete(d.calls, ev.OldCallID)
	}
	if ev.CallID == "" {
		return
	}
	if c := d.calls[ev.CallID]; c != nil && c.state == plugins.StateQueued && d.pbxQueued > 0 {
		defer d.leftQueue(ev.CallID) // queue.go
	}
	switch {
	case ev.State == plugins.StateNull,
		ev.Type == plugins.EventCallCleared,
		ev.Type == plugins.EventParked && ev.State == plugins.StateUnspecified,
		ev.Type == plugins.EventDiverted && ev.State == plugins.StateUnspecified && ev.Other != d.dev,
		ev.State == plugins.StateUnspecified && ev.Type == plugins.EventConnectionCleared && (ev.Other == "" || ev.Other == d.dev):
		delete(d.calls, ev.CallID)
		return
	}
	st := ev.State
	if st == plugins.StateUnspecified && ev.Type == plugins.EventDelivered {
		st = plugins.StateConnected // the caller hears ringback
		if ev.Other == d.dev || ev.Called == d.dev {
			st = plugins.StateAlerting
		}
	}
	if st == plugins.StateUnspecified {
		st = stateOf(ev.Type)
		if st == plugins.StateUnspecified {
			return
		}
	}
	c := d.calls[ev.CallID]
	if c == nil {
		d.nconns++
		c = &conn{callID: ev.CallID, since: now, order: d.nconns}
		d.calls[ev.CallID] = c
	}
	if st == plugins.StateQueued && c.state != plugins.StateQueued {
		c.since = now // joined the queue now (a call may ring, then queue)
	}
	c.state = st
	if ev.ConnectionID != "" {
		c.connID = ev.ConnectionID
	}
	if ev.Calling != "" {
		c.calling = ev.Calling
	}
	if ev.Called != "" {
		c.called = ev.Called
	}
	setIf(&c.callingName, ev.CallingName)
	setIf(&c.calledName, ev.CalledName)
	setIf(&c.originalCalled, ev.OriginalCalled)
	setIf(&c.forwardedFrom, ev.LastRedirection)
	setIf(&c.global, ev.GlobalCallID)
	if ev.PartyType != plugins.PartyUnspecified {
		c.party = ev.PartyType
	}
	// The far end: the event's other device, else the caller (for the
	// called side: a redirected call names the group or the forwarding
	// device as called, not the party on the line), else the called.
	for _, o := range []struct{ dev, name string }{{ev.Other, ev.OtherName}, {ev.Calling, ev.CallingName}, {ev.Called, ev.CalledName}} {
		if o.dev != "" && o.dev != d.dev {
			if o.dev != c.other {
				c.otherName = ""
			}
			c.other = o.dev
			setIf(&c.otherName, o.name)
			break
		}
	}
}

// setIf sets *dst to v unless v is empty.
func setIf(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// stateOf is the local state an event implies when the driver gives none.
func stateOf(t plugins.EventType) plugins.ConnectionState {
	switch t {
	case plugins.EventServiceInitiated, plugins.EventOriginated:
		return plugins.StateInitiated
	case plugins.EventEstablished, plugins.EventRetrieved, plugins.EventTransferred, plugins.EventConferenced:
		return plugins.StateConnected
	case plugins.EventHeld:
		return plugins.StateHold
	case plugins.EventQueued:
		return plugins.StateQueued
	case plugins.EventFailed:
		return plugins.StateFail
	}
	return plugins.StateUnspecified
}
