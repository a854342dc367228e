package avaya

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"
	"sync"

	"github.com/switchboard-gw/switchboard/drivers/avaya/dmcc"
	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/drivers/cstamodel"
	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// Call control (cti-protocols.md §2.5) as DMCC offers it. The host names
// devices by extension; requests carry the session's DMCC device IDs
// (GetDeviceId for stations the driver acts on, GetThirdPartyDeviceId for
// destinations), and answers are mapped back to extensions.

// call sends one request on the current link, mapping errors to the
// plugins errors.
func (d *Driver) call(ctx context.Context, what string, req csta.Message) (csta.Message, error) {
	c, err := d.current()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	resp, err := c.Call(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, mapErr(err))
	}
	return resp, nil
}

// station returns the device ID of a station extension on the current
// link.
func (d *Driver) station(ctx context.Context, what, ext string) (csta.DeviceID, error) {
	if ext == "" {
		return csta.DeviceID{}, fmt.Errorf("%s: %w: empty device", what, plugins.ErrInvalidArgument)
	}
	c, err := d.current()
	if err != nil {
		return csta.DeviceID{}, fmt.Errorf("%s: %w", what, err)
	}
	id, err := d.deviceID(ctx, c, ext)
	if err != nil {
		return csta.DeviceID{}, fmt.Errorf("%s: %w", what, mapErr(err))
	}
	return csta.DeviceID{Value: id, TypeOfNumber: "other", MediaClass: "notKnown"}, nil
}

// destination returns a call-control device ID for a dial string
// (GetThirdPartyDeviceId, §3.1). A string that already is a DMCC device ID
// is used as is.
func (d *Driver) destination(ctx context.Context, what, to string) (csta.DeviceID, error) {
	if to == "" {
		return csta.DeviceID{}, fmt.Errorf("%s: %w: empty destination", what, plugins.ErrInvalidArgument)
	}
	if strings.Contains(to, ":") {
		return csta.DeviceID{Value: to}, nil
	}
	c, err := d.current()
	if err != nil {
		return csta.DeviceID{}, fmt.Errorf("%s: %w", what, err)
	}
	d.mu.Lock()
	id, ok := d.tpIDs[to]
	d.mu.Unlock()
	if !ok {
		resp, err := c.Call(ctx, &dmcc.GetThirdPartyDeviceId{SwitchName: d.cfg.SwitchName, Extension: to})
		if err != nil {
			return csta.DeviceID{}, fmt.Errorf("%s: destination %s: %w", what, to, mapErr(err))
		}
		id = resp.(*dmcc.GetThirdPartyDeviceIdResponse).Device.Value
		d.mu.Lock()
		if d.client == c {
			d.tpIDs[to] = id
		}
		d.mu.Unlock()
	}
	return csta.DeviceID{Value: id}, nil
}

// conn returns the ConnectionID of a connection named by extension.
func (d *Driver) conn(ctx context.Context, what string, c plugins.ConnectionRef) (csta.ConnectionID, error) {
	if c.Device == "" || c.CallID == "" {
		return csta.ConnectionID{}, fmt.Errorf("%s: %w: connection needs device and call id", what, plugins.ErrInvalidArgument)
	}
	id, err := d.station(ctx, what, c.Device)
	if err != nil {
		return csta.ConnectionID{}, err
	}
	return csta.ConnectionID{CallID: c.CallID, DeviceID: &id}, nil
}

func ref(c csta.ConnectionID) plugins.ConnectionRef {
	dev := dmcc.Extension(c.Device())
	return plugins.ConnectionRef{Device: dev, CallID: c.CallID, ConnectionID: cstamodel.ConnID(c.CallID, dev)}
}

// MakeCall implements sdk.MakeCaller (CSTA MakeCall, autoOriginate
// doNotPrompt: the calling phone goes off-hook by itself where it can).
func (d *Driver) MakeCall(ctx context.Context, r plugins.MakeCallRequest) (plugins.ConnectionRef, error) {
	if r.Calling == "" || r.Called == "" {
		return plugins.ConnectionRef{}, fmt.Errorf("make call: %w: calling and called are required", plugins.ErrInvalidArgument)
	}
	from, err := d.station(ctx, "make call", r.Calling)
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	to, err := d.destination(ctx, "make call", r.Called)
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	resp, err := d.call(ctx, "make call", &csta.MakeCall{CallingDevice: from, CalledDirectoryNumber: to,
		AutoOriginate: "doNotPrompt"})
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	return ref(resp.(*csta.MakeCallResponse).CallingDevice), nil
}

// Answer implements sdk.Answerer (CSTA AnswerCall).
func (d *Driver) Answer(ctx context.Context, c plugins.ConnectionRef) error {
	return d.cc.Answer(ctx, c)
}

// Clear implements sdk.Clearer (CSTA ClearConnection).
func (d *Driver) Clear(ctx context.Context, c plugins.ConnectionRef) error { return d.cc.Clear(ctx, c) }

// Hold implements sdk.Holder (CSTA HoldCall).
func (d *Driver) Hold(ctx context.Context, c plugins.ConnectionRef) error { return d.cc.Hold(ctx, c) }

// Retrieve implements sdk.Retriever (CSTA RetrieveCall).
func (d *Driver) Retrieve(ctx context.Context, c plugins.ConnectionRef) error {
	return d.cc.Retrieve(ctx, c)
}

// GenerateDigits implements sdk.DigitGenerator (CSTA GenerateDigits: DTMF
// on the connection).
func (d *Driver) GenerateDigits(ctx context.Context, c plugins.ConnectionRef, digits string) error {
	if digits == "" || strings.Trim(digits, "0123456789*#ABCDabcd") != "" {
		return fmt.Errorf("generate digits: %w: digits %q: want 0-9 * # A-D", plugins.ErrInvalidArgument, digits)
	}
	return d.cc.Simple(ctx, "generate digits", c, func(id csta.ConnectionID) csta.Message {
		return &csta.GenerateDigits{ConnectionToSendDigits: id, CharactersToSend: digits}
	})
}

// Consultation implements sdk.Consulter (CSTA ConsultationCall): the
// existing call is held and a new call from the same device rings to.
func (d *Driver) Consultation(ctx context.Context, existing plugins.ConnectionRef, to string) (plugins.ConnectionRef, error) {
	cid, err := d.conn(ctx, "consultation", existing)
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	dest, err := d.destination(ctx, "consultation", to)
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	resp, err := d.call(ctx, "consultation", &csta.ConsultationCall{ExistingCall: cid, ConsultedDevice: dest})
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	return ref(resp.(*csta.ConsultationCallResponse).InitiatedCall), nil
}

// Transfer implements sdk.Transferer (CSTA TransferCall): held and active
// are joined and the transferring device leaves.
func (d *Driver) Transfer(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	return d.cc.Transfer(ctx, held, active)
}

// SingleStepTransfer implements sdk.SingleStepTransferer (CSTA
// SingleStepTransferCall: blind transfer of the device's connection).
func (d *Driver) SingleStepTransfer(ctx context.Context, c plugins.ConnectionRef, to string) (plugins.ConnectionRef, error) {
	cid, err := d.conn(ctx, "single step transfer", c)
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	dest, err := d.destination(ctx, "single step transfer", to)
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	resp, err := d.call(ctx, "single step transfer", &csta.SingleStepTransferCall{ActiveCall: cid, TransferredTo: dest})
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	if r := resp.(*csta.SingleStepTransferCallResponse); r.TransferredCall != nil {
		return ref(*r.TransferredCall), nil
	}
	return plugins.ConnectionRef{Device: dmcc.Extension(to), CallID: c.CallID}, nil
}

// Conference implements sdk.Conferencer (CSTA ConferenceCall).
func (d *Driver) Conference(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	return d.cc.Conference(ctx, held, active)
}

// Deflect implements sdk.Deflecter (CSTA DeflectCall: an alerting call is
// sent on to another destination).
func (d *Driver) Deflect(ctx context.Context, c plugins.ConnectionRef, to string) error {
	cid, err := d.conn(ctx, "deflect", c)
	if err != nil {
		return err
	}
	dest, err := d.destination(ctx, "deflect", to)
	if err != nil {
		return err
	}
	_, err = d.call(ctx, "deflect", &csta.DeflectCall{CallToBeDiverted: cid, NewDestination: dest})
	return err
}

// SetDND implements sdk.DNDSetter (CSTA SetDoNotDisturb).
func (d *Driver) SetDND(ctx context.Context, device string, enabled bool) error {
	id, err := d.station(ctx, "set dnd", device)
	if err != nil {
		return err
	}
	_, err = d.call(ctx, "set dnd", &csta.SetDoNotDisturb{Device: id, DoNotDisturbOn: enabled})
	return err
}

// SetForwarding implements sdk.ForwardingSetter (CSTA SetForwarding). The
// destination is sent as dialled (forwardDN is a number, not a device ID).
func (d *Driver) SetForwarding(ctx context.Context, device string, f plugins.Forwarding) error {
	typ := cstamodel.ForwardName(f.Type)
	switch {
	case device == "":
		return fmt.Errorf("set forwarding: %w: empty device", plugins.ErrInvalidArgument)
	case typ == "":
		return fmt.Errorf("set forwarding: %w: forwarding type %s", plugins.ErrInvalidArgument, f.Type)
	case f.Enabled && f.To == "":
		return fmt.Errorf("set forwarding: %w: a destination is required", plugins.ErrInvalidArgument)
	}
	id, err := d.station(ctx, "set forwarding", device)
	if err != nil {
		return err
	}
	req := &csta.SetForwarding{Device: id, ForwardingType: typ, ActivateForward: f.Enabled}
	if f.To != "" {
		req.ForwardDN = &csta.DeviceID{Value: f.To}
	}
	_, err = d.call(ctx, "set forwarding", req)
	return err
}

// SetAgentState implements sdk.AgentStateSetter (CSTA SetAgentState with
// requestedAgentState; Avaya's private work modes are not used).
func (d *Driver) SetAgentState(ctx context.Context, r plugins.AgentStateRequest) error {
	st, ok := agentRequests[r.State]
	if !ok {
		return fmt.Errorf("set agent state: %w: state %s is not settable", plugins.ErrInvalidArgument, r.State)
	}
	id, err := d.station(ctx, "set agent state", r.Device)
	if err != nil {
		return err
	}
	_, err = d.call(ctx, "set agent state", &dmcc.SetAgentState{Device: id, RequestedAgentState: st, AgentID: r.AgentID})
	return err
}

// pbxSnapshot asks AES for device's calls (SnapshotDevice), DND
// (GetDoNotDisturb), agent state (GetAgentState), message waiting
// (GetMessageWaitingIndicator ~) and forwarding (GetForwarding). The
// feature queries are best effort: an AES that refuses them leaves them
// off; mwi says whether s.MessageWaiting is AES's answer (else the lamp
// stays as events set it). They go out beside SnapshotDevice, not after
// it: one round trip per device in a restore instead of five.
func (d *Driver) pbxSnapshot(ctx context.Context, c *csta.Client, device, devID string) (s plugins.DeviceSnapshot, mwi bool, err error) {
	s = plugins.DeviceSnapshot{Device: device}
	dev := csta.DeviceID{Value: devID, TypeOfNumber: "other", MediaClass: "notKnown"}
	var dnd, agent, fwd csta.Message
	var wg sync.WaitGroup
	defer wg.Wait() // never leave a query behind (it writes dnd, agent, fwd)
	wg.Go(func() { dnd, _ = c.Call(ctx, &dmcc.GetDoNotDisturb{Device: dev}) })
	// The agent's state now, so a console shows it before the first agent
	// event; a station with no agent feature refuses and stays unknown.
	wg.Go(func() { agent, _ = c.Call(ctx, &dmcc.GetAgentState{Device: dev}) })
	wg.Go(func() { fwd, _ = c.Call(ctx, &dmcc.GetForwarding{Device: dev}) })
	var mw csta.Message
	if !d.cfg.SkipMWIQuery {
		wg.Go(func() { mw, _ = c.Call(ctx, d.mwiQuery(dev)) })
	}
	resp, err := c.Call(ctx, &csta.SnapshotDevice{SnapshotObject: dev})
	if err != nil {
		return s, false, fmt.Errorf("snapshot %s: %w", device, err)
	}
	if data := resp.(*csta.SnapshotDeviceResponse).CrossRefIDorSnapshotData.SnapshotData; data != nil {
		for _, it := range data.Items {
			st := cstamodel.State(it.State())
			if st == plugins.StateNull {
				continue
			}
			id := it.ConnectionIdentifier.CallID
			s.Calls = append(s.Calls, plugins.CallSnapshot{CallID: id, ConnectionID: cstamodel.ConnID(id, device), State: st})
		}
	}
	wg.Wait()
	if r, ok := dnd.(*dmcc.GetDoNotDisturbResponse); ok {
		s.DND = r.DoNotDisturbOn
	}
	if r, ok := agent.(*dmcc.GetAgentStateResponse); ok {
		s.AgentState = agentFromResponse(r)
	}
	s.MessageWaiting, mwi = csta.MessageWaiting(mw)
	if r, ok := fwd.(*dmcc.GetForwardingResponse); ok {
		for _, it := range r.Items {
			if t := cstamodel.ForwardType(it.ForwardingType); t != plugins.ForwardUnspecified && it.ForwardStatus {
				s.Forwarding = append(s.Forwarding, plugins.Forwarding{Type: t, To: strings.TrimSpace(it.ForwardDN), Enabled: true})
			}
		}
	}
	return s, mwi, nil
}

// mwiQuery is ECMA-269 Get Message Waiting Indicator (§22.1 ~) for dev,
// in the negotiated protocol version's namespace (AES's CSTA requests).
func (d *Driver) mwiQuery(dev csta.DeviceID) *csta.RawMessage {
	ns := d.ProtocolVersion()
	if !strings.HasPrefix(ns, csta.NamespacePrefix) {
		ns = csta.Ed3.Namespace()
	}
	inner, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"device"`
		csta.DeviceID
	}{DeviceID: dev})
	return &csta.RawMessage{XMLName: xml.Name{Space: ns, Local: "GetMessageWaitingIndicator"}, Inner: inner}
}

// Interface guards.
var (
	_ sdk.Driver               = (*Driver)(nil)
	_ sdk.Describer            = (*Driver)(nil)
	_ sdk.Closer               = (*Driver)(nil)
	_ sdk.MakeCaller           = (*Driver)(nil)
	_ sdk.Answerer             = (*Driver)(nil)
	_ sdk.Clearer              = (*Driver)(nil)
	_ sdk.Holder               = (*Driver)(nil)
	_ sdk.Retriever            = (*Driver)(nil)
	_ sdk.Consulter            = (*Driver)(nil)
	_ sdk.Transferer           = (*Driver)(nil)
	_ sdk.SingleStepTransferer = (*Driver)(nil)
	_ sdk.Conferencer          = (*Driver)(nil)
	_ sdk.Deflecter            = (*Driver)(nil)
	_ sdk.DigitGenerator       = (*Driver)(nil)
	_ sdk.DNDSetter            = (*Driver)(nil)
	_ sdk.ForwardingSetter     = (*Driver)(nil)
	_ sdk.AgentStateSetter     = (*Driver)(nil)
)

// Reconnect implements sdk.Reconnecter (CSTA ReconnectCall: cancel the
// consultation, back to the held call).
func (d *Driver) Reconnect(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	return d.cc.Reconnect(ctx, held, active)
}

// Alternate implements sdk.Alternater (CSTA AlternateCall: swap between
// the held and the active call).
func (d *Driver) Alternate(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	return d.cc.Alternate(ctx, held, active)
}

// ReportsMessageWaiting implements sdk.MessageWaitingReporter: the
// driver maps CSTA MessageWaitingEvent (ECMA-269 logical device feature
// event) to the model and keeps the lamp's state in snapshots.
func (d *Driver) ReportsMessageWaiting() bool { return true }

// ListDevices implements sdk.DeviceLister: the configured directory
// (config "directory"), paged.
func (d *Driver) ListDevices(ctx context.Context, token string, size int) (plugins.DevicePage, error) {
	d.mu.Lock()
	dir := d.cfg.Directory
	d.mu.Unlock()
	return dir.ListDevices(ctx, token, size)
}
