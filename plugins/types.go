package plugins

import (
	"slices"
	"time"
)

// StartRequest is what a driver gets once, before any other call.
type StartRequest struct {
	// Driver is the driver's name as configured ("mitel", "acme-pbx").
	Driver string
	// Config is the driver's section of the switchboard config, as JSON.
	Config []byte
}

// Capabilities is what a driver declares it supports.
type Capabilities struct {
	Vendor   string
	Version  string
	Services []Service
	// MaxMonitors is the most devices the driver can monitor; 0 means no
	// stated limit.
	MaxMonitors int
}

// Supports reports whether the driver declares service s.
func (c Capabilities) Supports(s Service) bool { return slices.Contains(c.Services, s) }

// ConnectionRef names a connection: a device's part in a call (the CSTA
// ConnectionID). ConnectionID is the PBX's own handle where it has one.
type ConnectionRef struct {
	Device       string `json:"device"`
	CallID       string `json:"call_id"`
	ConnectionID string `json:"connection_id,omitempty"`
}

// MakeCallRequest asks Calling to call Called (CSTA MakeCall).
type MakeCallRequest struct {
	Calling     string
	Called      string
	AccountCode string
	UserData    string
}

// Forwarding is one forwarding setting of a device.
type Forwarding struct {
	Type    ForwardingType `json:"type"`
	To      string         `json:"to,omitempty"`
	Enabled bool           `json:"enabled"`
}

// AgentStateRequest sets an ACD agent's state at a device.
type AgentStateRequest struct {
	Device  string
	AgentID string
	State   AgentState
	Reason  string
}

// CallSnapshot is one call at a device in a [DeviceSnapshot].
type CallSnapshot struct {
	CallID       string          `json:"call_id"`
	ConnectionID string          `json:"connection_id,omitempty"`
	State        ConnectionState `json:"state"`
	// Other is the far end, when the PBX says, and OtherName its name.
	Other     string `json:"other_device,omitempty"`
	OtherName string `json:"other_name,omitempty"`
	// PartyType says where the far end is.
	PartyType PartyType `json:"party_type,omitempty"`
	// Calling and Called are the call's parties as the PBX names them.
	Calling string `json:"calling_device,omitempty"`
	Called  string `json:"called_device,omitempty"`
	// GlobalCallID is the PBX's global call id (Avaya UCID, Xsi
	// extTrackingId, CSTA correlator data).
	GlobalCallID string `json:"global_call_id,omitempty"`
	// OriginalCalled is the number first called and LastRedirection
	// the device that last redirected the call ("forwarded from").
	OriginalCalled  string `json:"original_called_device,omitempty"`
	LastRedirection string `json:"last_redirection_device,omitempty"`
	// QueuePosition is the place of a call queued at a group device,
	// from 1 (next served); 0 when the PBX does not say.
	QueuePosition int `json:"queue_position,omitempty"`
}

// DeviceSnapshot is a device's calls and feature state (CSTA
// SnapshotDevice).
type DeviceSnapshot struct {
	Device     string         `json:"device"`
	Calls      []CallSnapshot `json:"calls"`
	DND        bool           `json:"dnd"`
	Forwarding []Forwarding   `json:"forwarding,omitempty"`
	AgentState AgentState     `json:"agent_state,omitempty"`
	// Seq is the sequence number of the last event the driver had emitted
	// when it took the snapshot: this device's events at or below it are
	// already reflected in the snapshot.
	Seq uint64 `json:"sequence"`
	// Stale is set while the driver's PBX link is down: the state is the
	// last one known.
	Stale bool `json:"stale,omitempty"`
	// MessageWaiting: the device's message-waiting indicator is on.
	MessageWaiting bool `json:"message_waiting,omitempty"`
	// Category is what kind of device it is; ACD and group devices are
	// queues (their QUEUED calls wait there).
	Category DeviceCategory `json:"category,omitempty"`
}

// DirectoryEntry is one device of a PBX's directory (ListDevices).
type DirectoryEntry struct {
	Device string    `json:"device"`
	Name   string    `json:"name,omitempty"`
	Type   PartyType `json:"type,omitempty"`
	// Category is what kind of device it is (a queue: ACD or group).
	Category DeviceCategory `json:"category,omitempty"`
}

// DevicePage is one page of ListDevices; Next is empty on the last page.
type DevicePage struct {
	Devices []DirectoryEntry `json:"devices"`
	Next    string           `json:"next_page_token,omitempty"`
}

// Event is one CTI event of a driver.
type Event struct {
	// Seq is the per-driver-process sequence number, from 1, one per event
	// emitted; a gap means events were lost. It starts again at 1 after
	// the host restarts the driver (Incarnation tells them apart).
	Seq          uint64          `json:"sequence"`
	MonitorID    string          `json:"monitor_id,omitempty"`
	Device       string          `json:"device,omitempty"`
	CallID       string          `json:"call_id,omitempty"`
	ConnectionID string          `json:"connection_id,omitempty"`
	Type         EventType       `json:"type"`
	State        ConnectionState `json:"state,omitempty"`
	Cause        Cause           `json:"cause,omitempty"`
	// RawCause is the PBX's own cause text, verbatim.
	RawCause string `json:"raw_cause,omitempty"`
	Calling  string `json:"calling_device,omitempty"`
	Called   string `json:"called_device,omitempty"`
	// Other is the other party: transferred-to, diverted-to, conferenced-in.
	Other string `json:"other_device,omitempty"`
	// OldCallID is the call merged away by a transfer or conference.
	OldCallID string `json:"old_call_id,omitempty"`
	// PBXTime is when the PBX says the event happened (zero if it does not).
	PBXTime time.Time `json:"pbx_time,omitzero"`
	// Time is when the driver emitted the event.
	Time time.Time `json:"time"`
	// DND, Forwarding and AgentState are set by the device feature events.
	DND        bool        `json:"dnd,omitempty"`
	Forwarding *Forwarding `json:"forwarding,omitempty"`
	AgentState AgentState  `json:"agent_state,omitempty"`
	// CallingName, CalledName and OtherName are the parties' names as
	// the PBX gives them.
	CallingName string `json:"calling_name,omitempty"`
	CalledName  string `json:"called_name,omitempty"`
	OtherName   string `json:"other_name,omitempty"`
	// OriginalCalled is the number first called; LastRedirection the
	// device that last redirected the call ("forwarded from").
	OriginalCalled  string `json:"original_called_device,omitempty"`
	LastRedirection string `json:"last_redirection_device,omitempty"`
	// GlobalCallID is the PBX's call id that is the same at every device
	// of the call (Avaya UCID, Xsi extTrackingId, CSTA correlator data).
	GlobalCallID string `json:"global_call_id,omitempty"`
	// PartyType says where the other party (seen from Device) is.
	PartyType PartyType `json:"party_type,omitempty"`
	// MessageWaiting is set by EventMessageWaiting.
	MessageWaiting bool `json:"message_waiting,omitempty"`
	// QueueLength and QueuePosition are set by EventQueued at a group
	// device when the PBX says (CSTA numberQueued, callsInFront+1): the
	// calls waiting there now and this call's place, from 1; 0: not said.
	QueueLength   int `json:"queue_length,omitempty"`
	QueuePosition int `json:"queue_position,omitempty"`

	// The fields below are the host's, never on the wire.

	// Snapshot is set on EventSnapshot.
	Snapshot *DeviceSnapshot `json:"snapshot,omitempty"`
	// Driver is the name of the driver the event came from.
	Driver string `json:"driver"`
	// Incarnation counts the driver process starts, from 1.
	Incarnation uint64 `json:"incarnation"`
	// Received is when the host read the event from the driver.
	Received time.Time `json:"-"`
}
