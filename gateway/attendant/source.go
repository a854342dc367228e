// Package attendant is the gateway's northbound CTI side (issue 14): one
// model of devices, calls and presence over every source of them — each
// configured CTI driver and the gateway itself — served as the REST and
// WebSocket API that consoles and the attendant server use.
package attendant

import (
	"context"

	"github.com/switchboard-gw/switchboard/plugins"
)

// Source is where a device or call lives and is controlled: a CTI driver
// (*plugins.Supervisor satisfies it) or the gateway's own users and calls
// (gateway/gwcti). Its events reach the model separately: the CTI manager's
// OnEvent for drivers, gwcti's own callback for the gateway; each event
// names its source in Event.Driver.
//
// The method set is the driver model of plugins (CSTA-based); a source
// answers plugins.ErrNotSupported (wrapped) for a service it does not
// declare in Capabilities.
type Source interface {
	// Name is the source's name: the driver's configured name, or
	// "gateway". It is the prefix of device and call ids in the API.
	Name() string
	// Up reports whether the source can take requests now.
	Up() bool
	Capabilities(ctx context.Context) (plugins.Capabilities, error)
	Monitors() []string
	MonitorStart(ctx context.Context, device string) (string, error)
	MonitorStop(ctx context.Context, device string) error
	Snapshot(ctx context.Context, device string) (plugins.DeviceSnapshot, error)

	MakeCall(ctx context.Context, r plugins.MakeCallRequest) (plugins.ConnectionRef, error)
	Answer(ctx context.Context, c plugins.ConnectionRef) error
	Clear(ctx context.Context, c plugins.ConnectionRef) error
	Hold(ctx context.Context, c plugins.ConnectionRef) error
	Retrieve(ctx context.Context, c plugins.ConnectionRef) error
	Consultation(ctx context.Context, existing plugins.ConnectionRef, to string) (plugins.ConnectionRef, error)
	Transfer(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error)
	SingleStepTransfer(ctx context.Context, c plugins.ConnectionRef, to string) (plugins.ConnectionRef, error)
	Conference(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error)
	Deflect(ctx context.Context, c plugins.ConnectionRef, to string) error
	GenerateDigits(ctx context.Context, c plugins.ConnectionRef, digits string) error
	Park(ctx context.Context, c plugins.ConnectionRef, slot string) (string, error)
	Pickup(ctx context.Context, device, from string) (plugins.ConnectionRef, error)
	SetDND(ctx context.Context, device string, enabled bool) error
	SetForwarding(ctx context.Context, device string, f plugins.Forwarding) error
	SetAgentState(ctx context.Context, r plugins.AgentStateRequest) error
	Reconnect(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error)
	Alternate(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error)
	ListDevices(ctx context.Context, token string, size int) (plugins.DevicePage, error)
}

// GatewaySource is the name of the gateway's own source.
const GatewaySource = "gateway"

var _ Source = (*plugins.Supervisor)(nil)
