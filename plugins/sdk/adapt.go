package sdk

import (
	"context"
	"slices"
	"sync"

	"github.com/switchboard-gw/switchboard/plugins"
)

// The optional services: a driver implements those its PBX offers. Each
// one it implements is declared in its capabilities (see [Limiter] to
// withdraw some at run time); each one it lacks answers "not supported".
type (
	MakeCaller interface {
		MakeCall(ctx context.Context, req plugins.MakeCallRequest) (plugins.ConnectionRef, error)
	}
	Answerer interface {
		Answer(ctx context.Context, c plugins.ConnectionRef) error
	}
	Clearer interface {
		Clear(ctx context.Context, c plugins.ConnectionRef) error
	}
	Holder interface {
		Hold(ctx context.Context, c plugins.ConnectionRef) error
	}
	Retriever interface {
		Retrieve(ctx context.Context, c plugins.ConnectionRef) error
	}
	Consulter interface {
		Consultation(ctx context.Context, existing plugins.ConnectionRef, to string) (plugins.ConnectionRef, error)
	}
	Transferer interface {
		Transfer(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error)
	}
	SingleStepTransferer interface {
		SingleStepTransfer(ctx context.Context, c plugins.ConnectionRef, to string) (plugins.ConnectionRef, error)
	}
	Conferencer interface {
		Conference(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error)
	}
	Deflecter interface {
		Deflect(ctx context.Context, c plugins.ConnectionRef, to string) error
	}
	DigitGenerator interface {
		GenerateDigits(ctx context.Context, c plugins.ConnectionRef, digits string) error
	}
	Parker interface {
		Park(ctx context.Context, c plugins.ConnectionRef, slot string) (string, error)
	}
	PickerUpper interface {
		Pickup(ctx context.Context, device, from string) (plugins.ConnectionRef, error)
	}
	DNDSetter interface {
		SetDND(ctx context.Context, device string, enabled bool) error
	}
	ForwardingSetter interface {
		SetForwarding(ctx context.Context, device string, f plugins.Forwarding) error
	}
	AgentStateSetter interface {
		SetAgentState(ctx context.Context, req plugins.AgentStateRequest) error
	}
	Reconnecter interface {
		Reconnect(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error)
	}
	Alternater interface {
		Alternate(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error)
	}
	// DeviceLister serves the PBX's device directory (ListDevices).
	DeviceLister interface {
		ListDevices(ctx context.Context, token string, size int) (plugins.DevicePage, error)
	}
	// MessageWaitingReporter is implemented by a driver that reports
	// message-waiting state (events and snapshots); it has no call, only
	// the capability.
	MessageWaitingReporter interface {
		ReportsMessageWaiting() bool
	}
)

// implemented lists the services d implements.
func implemented(d Driver) []plugins.Service {
	var out []plugins.Service
	add := func(ok bool, s plugins.Service) {
		if ok {
			out = append(out, s)
		}
	}
	_, ok := d.(MakeCaller)
	add(ok, plugins.ServiceMakeCall)
	_, ok = d.(Answerer)
	add(ok, plugins.ServiceAnswer)
	_, ok = d.(Clearer)
	add(ok, plugins.ServiceClear)
	_, ok = d.(Holder)
	add(ok, plugins.ServiceHold)
	_, ok = d.(Retriever)
	add(ok, plugins.ServiceRetrieve)
	_, ok = d.(Consulter)
	add(ok, plugins.ServiceConsultation)
	_, ok = d.(Transferer)
	add(ok, plugins.ServiceTransfer)
	_, ok = d.(SingleStepTransferer)
	add(ok, plugins.ServiceSingleStepTransfer)
	_, ok = d.(Conferencer)
	add(ok, plugins.ServiceConference)
	_, ok = d.(Deflecter)
	add(ok, plugins.ServiceDeflect)
	_, ok = d.(DigitGenerator)
	add(ok, plugins.ServiceGenerateDigits)
	_, ok = d.(Parker)
	add(ok, plugins.ServicePark)
	_, ok = d.(PickerUpper)
	add(ok, plugins.ServicePickup)
	_, ok = d.(DNDSetter)
	add(ok, plugins.ServiceSetDND)
	_, ok = d.(ForwardingSetter)
	add(ok, plugins.ServiceSetForwarding)
	_, ok = d.(AgentStateSetter)
	add(ok, plugins.ServiceSetAgentState)
	_, ok = d.(Reconnecter)
	add(ok, plugins.ServiceReconnect)
	_, ok = d.(Alternater)
	add(ok, plugins.ServiceAlternate)
	_, ok = d.(DeviceLister)
	add(ok, plugins.ServiceListDevices)
	mw, ok := d.(MessageWaitingReporter)
	add(ok && mw.ReportsMessageWaiting(), plugins.ServiceMessageWaiting)
	return append(out, implementedFeatures(d)...) // features.go
}

// Adapt turns a [Driver] into the full [plugins.Driver]: it declares what
// d implements and answers the rest with [plugins.ErrNotSupported]. [Serve]
// uses it; tests use it to run a driver in-process.
func Adapt(d Driver) plugins.Driver {
	return &adapter{d: d, impl: implemented(d)}
}

type adapter struct {
	d    Driver
	impl []plugins.Service

	mu   sync.Mutex
	name string
}

func (a *adapter) declared() []plugins.Service {
	l, ok := a.d.(Limiter)
	if !ok {
		return a.impl
	}
	var out []plugins.Service
	for _, s := range l.Services() {
		if slices.Contains(a.impl, s) && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// check returns nil when svc is declared, else a "not supported" error.
func (a *adapter) check(svc plugins.Service) error {
	if slices.Contains(a.declared(), svc) {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return notSupported(svc, a.name)
}

func (a *adapter) Start(ctx context.Context, req plugins.StartRequest) error {
	a.mu.Lock()
	a.name = req.Driver
	a.mu.Unlock()
	return a.d.Start(ctx, req)
}

func (a *adapter) Capabilities(context.Context) (plugins.Capabilities, error) {
	c := plugins.Capabilities{Services: a.declared()}
	if desc, ok := a.d.(Describer); ok {
		c.Vendor, c.Version = desc.Describe()
	}
	return c, nil
}

func (a *adapter) MonitorStart(ctx context.Context, device string) (string, error) {
	return a.d.MonitorStart(ctx, device)
}

func (a *adapter) MonitorStop(ctx context.Context, device string) error {
	return a.d.MonitorStop(ctx, device)
}

func (a *adapter) Snapshot(ctx context.Context, device string) (plugins.DeviceSnapshot, error) {
	return a.d.Snapshot(ctx, device)
}

func (a *adapter) Events(ctx context.Context, send func(plugins.Event) error) error {
	return a.d.Events(ctx, send)
}

func (a *adapter) MakeCall(ctx context.Context, r plugins.MakeCallRequest) (plugins.ConnectionRef, error) {
	if err := a.check(plugins.ServiceMakeCall); err != nil {
		return plugins.ConnectionRef{}, err
	}
	if r.AccountCode != "" {
		if err := a.check(plugins.ServiceAccountCode); err != nil {
			return plugins.ConnectionRef{}, err
		}
	}
	return a.d.(MakeCaller).MakeCall(ctx, r)
}

func (a *adapter) Answer(ctx context.Context, c plugins.ConnectionRef) error {
	if err := a.check(plugins.ServiceAnswer); err != nil {
		return err
	}
	return a.d.(Answerer).Answer(ctx, c)
}

func (a *adapter) Clear(ctx context.Context, c plugins.ConnectionRef) error {
	if err := a.check(plugins.ServiceClear); err != nil {
		return err
	}
	return a.d.(Clearer).Clear(ctx, c)
}

func (a *adapter) Hold(ctx context.Context, c plugins.ConnectionRef) error {
	if err := a.check(plugins.ServiceHold); err != nil {
		return err
	}
	return a.d.(Holder).Hold(ctx, c)
}

func (a *adapter) Retrieve(ctx context.Context, c plugins.ConnectionRef) error {
	if err := a.check(plugins.ServiceRetrieve); err != nil {
		return err
	}
	return a.d.(Retriever).Retrieve(ctx, c)
}

func (a *adapter) Consultation(ctx context.Context, c plugins.ConnectionRef, to string) (plugins.ConnectionRef, error) {
	if err := a.check(plugins.ServiceConsultation); err != nil {
		return plugins.ConnectionRef{}, err
	}
	return a.d.(Consulter).Consultation(ctx, c, to)
}

func (a *adapter) Transfer(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	if err := a.check(plugins.ServiceTransfer); err != nil {
		return plugins.ConnectionRef{}, err
	}
	return a.d.(Transferer).Transfer(ctx, held, active)
}

func (a *adapter) SingleStepTransfer(ctx context.Context, c plugins.ConnectionRef, to string) (plugins.ConnectionRef, error) {
	if err := a.check(plugins.ServiceSingleStepTransfer); err != nil {
		return plugins.ConnectionRef{}, err
	}
	return a.d.(SingleStepTransferer).SingleStepTransfer(ctx, c, to)
}

func (a *adapter) Conference(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	if err := a.check(plugins.ServiceConference); err != nil {
		return plugins.ConnectionRef{}, err
	}
	return a.d.(Conferencer).Conference(ctx, held, active)
}

func (a *adapter) Deflect(ctx context.Context, c plugins.ConnectionRef, to string) error {
	if err := a.check(plugins.ServiceDeflect); err != nil {
		return err
	}
	return a.d.(Deflecter).Deflect(ctx, c, to)
}

func (a *adapter) GenerateDigits(ctx context.Context, c plugins.ConnectionRef, digits string) error {
	if err := a.check(plugins.ServiceGenerateDigits); err != nil {
		return err
	}
	return a.d.(DigitGenerator).GenerateDigits(ctx, c, digits)
}

func (a *adapter) Park(ctx context.Context, c plugins.ConnectionRef, slot string) (string, error) {
	if err := a.check(plugins.ServicePark); err != nil {
		return "", err
	}
	return a.d.(Parker).Park(ctx, c, slot)
}

func (a *adapter) Pickup(ctx context.Context, device, from string) (plugins.ConnectionRef, error) {
	if err := a.check(plugins.ServicePickup); err != nil {
		return plugins.ConnectionRef{}, err
	}
	return a.d.(PickerUpper).Pickup(ctx, device, from)
}

func (a *adapter) SetDND(ctx context.Context, device string, enabled bool) error {
	if err := a.check(plugins.ServiceSetDND); err != nil {
		return err
	}
	return a.d.(DNDSetter).SetDND(ctx, device, enabled)
}

func (a *adapter) SetForwarding(ctx context.Context, device string, f plugins.Forwarding) error {
	if err := a.check(plugins.ServiceSetForwarding); err != nil {
		return err
	}
	return a.d.(ForwardingSetter).SetForwarding(ctx, device, f)
}

func (a *adapter) SetAgentState(ctx context.Context, r plugins.AgentStateRequest) error {
	if err := a.check(plugins.ServiceSetAgentState); err != nil {
		return err
	}
	return a.d.(AgentStateSetter).SetAgentState(ctx, r)
}

func (a *adapter) Reconnect(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	if err := a.check(plugins.ServiceReconnect); err != nil {
		return plugins.ConnectionRef{}, err
	}
	return a.d.(Reconnecter).Reconnect(ctx, held, active)
}

func (a *adapter) Alternate(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	if err := a.check(plugins.ServiceAlternate); err != nil {
		return plugins.ConnectionRef{}, err
	}
	return a.d.(Alternater).Alternate(ctx, held, active)
}

func (a *adapter) ListDevices(ctx context.Context, token string, size int) (plugins.DevicePage, error) {
	if err := a.check(plugins.ServiceListDevices); err != nil {
		return plugins.DevicePage{}, err
	}
	return a.d.(DeviceLister).ListDevices(ctx, token, size)
}
