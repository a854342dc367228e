package plugins

import (
	"context"

	"github.com/hashicorp/go-plugin"
)

// Driver is the driver protocol as a Go interface: the host calls it, the
// shim carries it over gRPC, and package sdk implements it for the driver
// author. Every method takes a ctx whose deadline crosses the process
// boundary; every error wraps one of the Err values of this package when it
// has a meaning the caller can act on.
type Driver interface {
	// Start hands the driver its config. It is called once per process,
	// before any other call.
	Start(ctx context.Context, req StartRequest) error
	// Capabilities says what the driver supports. It answers quickly; the
	// host uses it as the health check.
	Capabilities(ctx context.Context) (Capabilities, error)
	// MonitorStart starts monitoring device and returns the monitor id its
	// events carry. Starting an existing monitor returns its id.
	MonitorStart(ctx context.Context, device string) (string, error)
	// MonitorStop stops monitoring device.
	MonitorStop(ctx context.Context, device string) error
	// Snapshot returns the calls and features of device.
	Snapshot(ctx context.Context, device string) (DeviceSnapshot, error)
	// Events calls send with every event, in order, until ctx ends or send
	// fails. The host calls it once per process.
	Events(ctx context.Context, send func(Event) error) error

	CallControl
	Features
}

// Features are the attendant services beyond [CallControl]: pickup from a
// named group, the busy treatments of ECMA-269 (camp-on, call back,
// intrusion) and account codes on consultation calls. A [Supervisor]
// offers them to the gateway; a source without them (the gateway's own)
// simply does not implement the interface.
type Features interface {
	// GroupPickup picks up, at device, a call ringing in pickup group
	// group ("" = the device's own group) (CSTA GroupPickupCall).
	GroupPickup(ctx context.Context, device, group string) (ConnectionRef, error)
	// CampOn camps c's call (c: the caller's connection to a busy
	// device) on the busy device (CSTA CampOnCall).
	CampOn(ctx context.Context, c ConnectionRef) error
	// CallBack asks the PBX to call c's device back when the busy device
	// c called becomes free (CSTA CallBackCallRelated).
	CallBack(ctx context.Context, c ConnectionRef) error
	// Intrude joins c's device into the busy device's call (CSTA
	// IntrudeCall); it returns c's device's connection in that call.
	Intrude(ctx context.Context, c ConnectionRef) (ConnectionRef, error)
	// ConsultationAccount is Consultation charging account (CSTA
	// ConsultationCall accountCode); account "" is plain Consultation.
	ConsultationAccount(ctx context.Context, existing ConnectionRef, to, account string) (ConnectionRef, error)
}

// CallControl is the CSTA call-control part of [Driver]; a [Supervisor]
// offers the same methods to the gateway.
type CallControl interface {
	MakeCall(ctx context.Context, req MakeCallRequest) (ConnectionRef, error)
	Answer(ctx context.Context, c ConnectionRef) error
	Clear(ctx context.Context, c ConnectionRef) error
	Hold(ctx context.Context, c ConnectionRef) error
	Retrieve(ctx context.Context, c ConnectionRef) error
	// Consultation holds existing and calls to from the same device.
	Consultation(ctx context.Context, existing ConnectionRef, to string) (ConnectionRef, error)
	Transfer(ctx context.Context, held, active ConnectionRef) (ConnectionRef, error)
	SingleStepTransfer(ctx context.Context, c ConnectionRef, to string) (ConnectionRef, error)
	Conference(ctx context.Context, held, active ConnectionRef) (ConnectionRef, error)
	Deflect(ctx context.Context, c ConnectionRef, to string) error
	GenerateDigits(ctx context.Context, c ConnectionRef, digits string) error
	// Park parks c on slot (empty: the PBX chooses) and returns the slot.
	Park(ctx context.Context, c ConnectionRef, slot string) (string, error)
	// Pickup picks up, at device, the call parked on or ringing at from.
	Pickup(ctx context.Context, device, from string) (ConnectionRef, error)
	SetDND(ctx context.Context, device string, enabled bool) error
	SetForwarding(ctx context.Context, device string, f Forwarding) error
	SetAgentState(ctx context.Context, req AgentStateRequest) error
	// Reconnect clears active (the consultation) and retrieves held
	// (CSTA ReconnectCall); it returns the retrieved connection.
	Reconnect(ctx context.Context, held, active ConnectionRef) (ConnectionRef, error)
	// Alternate holds active and retrieves held at the same device (CSTA
	// AlternateCall); it returns the connection now active.
	Alternate(ctx context.Context, held, active ConnectionRef) (ConnectionRef, error)
	// ListDevices returns one page of the PBX's device directory; token
	// is the previous page's Next ("" for the first), size the most
	// entries wanted (0: the driver chooses).
	ListDevices(ctx context.Context, token string, size int) (DevicePage, error)
}

// PluginName is the name the driver is dispensed under in [PluginMap].
const PluginName = "driver"

// Handshake is shared by host and driver: a driver built against another
// protocol version, or a binary started by hand, refuses to run.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "SWITCHBOARD_DRIVER_PLUGIN",
	MagicCookieValue: "d6a9c1f4-cti-driver-v1",
}

// PluginMap is the go-plugin plugin set of a host: it dispenses a [Driver]
// client. A driver process serves [ServerPluginMap].
var PluginMap = map[string]plugin.Plugin{PluginName: &DriverPlugin{}}

// ServerPluginMap is the plugin set a driver process serves, with impl
// answering the calls.
func ServerPluginMap(impl Driver) map[string]plugin.Plugin {
	return map[string]plugin.Plugin{PluginName: &DriverPlugin{Impl: impl}}
}
