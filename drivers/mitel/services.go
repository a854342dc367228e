package mitel

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"strings"
	"sync"

	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/drivers/cstamodel"
	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

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

// connOf names a connection for cstamodel.CallControl.
func (d *Driver) connOf(_ context.Context, what string, c plugins.ConnectionRef) (csta.ConnectionID, error) {
	cid, err := d.conn(c)
	if err != nil {
		return cid, fmt.Errorf("%s: %w", what, err)
	}
	return cid, nil
}

func (d *Driver) conn(c plugins.ConnectionRef) (csta.ConnectionID, error) {
	if c.Device == "" || c.CallID == "" {
		return csta.ConnectionID{}, fmt.Errorf("%w: connection needs device and call id", plugins.ErrInvalidArgument)
	}
	return csta.Conn(c.CallID, d.cfg.ids.wire(c.Device)), nil
}

func (d *Driver) ref(c csta.ConnectionID) plugins.ConnectionRef {
	dev := d.cfg.ids.model(c.Device())
	return plugins.ConnectionRef{Device: dev, CallID: c.CallID, ConnectionID: cstamodel.ConnID(c.CallID, dev)}
}

// wireDevice is a device as the PBX names it (Config.DeviceIDFormat).
func (d *Driver) wireDevice(dev string) csta.DeviceID { return csta.Device(d.cfg.ids.wire(dev)) }

// MakeCall implements sdk.MakeCaller (CSTA MakeCall, autoOriginate
// doNotPrompt: the calling phone goes off-hook by itself where it can).
func (d *Driver) MakeCall(ctx context.Context, r plugins.MakeCallRequest) (plugins.ConnectionRef, error) {
	if r.Calling == "" || r.Called == "" {
		return plugins.ConnectionRef{}, fmt.Errorf("make call: %w: calling and called are required", plugins.ErrInvalidArgument)
	}
	resp, err := d.call(ctx, "make call", &csta.MakeCall{CallingDevice: d.wireDevice(r.Calling),
		CalledDirectoryNumber: csta.Device(r.Called), AccountCode: r.AccountCode, AutoOriginate: "doNotPrompt"})
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	return d.ref(resp.(*csta.MakeCallResponse).CallingDevice), nil
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

// Consultation implements sdk.Consulter (CSTA ConsultationCall): the
// existing call is held and a new call from the same device rings to.
func (d *Driver) Consultation(ctx context.Context, existing plugins.ConnectionRef, to string) (plugins.ConnectionRef, error) {
	cid, err := d.conn(existing)
	if err != nil || to == "" {
		return plugins.ConnectionRef{}, fmt.Errorf("consultation: %w: need a connection and a destination", plugins.ErrInvalidArgument)
	}
	resp, err := d.call(ctx, "consultation", &csta.ConsultationCall{ExistingCall: cid, ConsultedDevice: csta.Device(to)})
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	return d.ref(resp.(*csta.ConsultationCallResponse).InitiatedCall), nil
}

// Transfer implements sdk.Transferer (CSTA TransferCall): held and active
// are joined and the transferring device leaves.
func (d *Driver) Transfer(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	return d.cc.Transfer(ctx, held, active)
}

// Conference implements sdk.Conferencer (CSTA ConferenceCall).
func (d *Driver) Conference(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	return d.cc.Conference(ctx, held, active)
}

// SetDND implements sdk.DNDSetter (CSTA SetDoNotDisturb).
func (d *Driver) SetDND(ctx context.Context, device string, enabled bool) error {
	if device == "" {
		return fmt.Errorf("set dnd: %w: empty device", plugins.ErrInvalidArgument)
	}
	_, err := d.call(ctx, "set dnd", &csta.SetDoNotDisturb{Device: d.wireDevice(device), DoNotDisturbOn: enabled})
	return err
}

// SetForwarding implements sdk.ForwardingSetter (CSTA SetForwarding).
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
	req := &csta.SetForwarding{Device: d.wireDevice(device), ForwardingType: typ, ActivateForward: f.Enabled}
	if f.To != "" {
		req.ForwardDN = &csta.DeviceID{Value: f.To}
	}
	_, err := d.call(ctx, "set forwarding", req)
	return err
}

// pbxSnapshot asks the PBX for device's calls (SnapshotDevice), DND
// (GetDoNotDisturb ~), message waiting (GetMessageWaitingIndicator ~) and
// forwarding (GetForwarding ~). The feature queries are best effort: a
// PBX that refuses them leaves them off; mwi says whether
// s.MessageWaiting is the PBX's answer (else the lamp stays as events set
// it). They go out beside SnapshotDevice, not after it: one round trip
// per device in a restore instead of four.
func (d *Driver) pbxSnapshot(ctx context.Context, c *csta.Client, device string) (s plugins.DeviceSnapshot, mwi bool, err error) {
	s = plugins.DeviceSnapshot{Device: device}
	var dnd, fwd, mw csta.Message
	var wg sync.WaitGroup
	defer wg.Wait() // never leave a query behind (it writes dnd, fwd, mw)
	wg.Go(func() { dnd, _ = c.Call(ctx, d.deviceQuery("GetDoNotDisturb", device)) })
	wg.Go(func() { fwd, _ = c.Call(ctx, d.deviceQuery("GetForwarding", device)) })
	if !d.cfg.SkipMWIQuery {
		wg.Go(func() { mw, _ = c.Call(ctx, d.deviceQuery("GetMessageWaitingIndicator", device)) }) // ECMA-269 §22.1 ~
	}
	resp, err := c.Call(ctx, &csta.SnapshotDevice{SnapshotObject: d.wireDevice(device)})
	if err != nil {
		return s, false, fmt.Errorf("snapshot %s: %w", device, mapErr(err))
	}
	var items []csta.SnapshotDeviceResponseInfo
	switch res := resp.(*csta.SnapshotDeviceResponse).CrossRefIDorSnapshotData; {
	case res.SnapshotData != nil:
		items = res.SnapshotData.Items
	case res.ServiceCrossRefID != "": // deferred: the data follows in SnapshotDeviceData
		if items, err = d.deferred.wait(ctx, res.ServiceCrossRefID); err != nil {
			return s, false, fmt.Errorf("snapshot %s: %w", device, mapErr(err))
		}
	}
	for _, it := range items {
		st := cstamodel.State(it.State())
		if st == plugins.StateNull {
			continue
		}
		id := it.ConnectionIdentifier.CallID
		s.Calls = append(s.Calls, plugins.CallSnapshot{CallID: id, ConnectionID: cstamodel.ConnID(id, device), State: st})
	}
	wg.Wait()
	if r, ok := dnd.(*csta.GetDoNotDisturbResponse); ok {
		s.DND = r.DoNotDisturbOn
	}
	s.MessageWaiting, mwi = csta.MessageWaiting(mw)
	if r, ok := fwd.(*csta.GetForwardingResponse); ok {
		for _, it := range r.Items {
			if t := cstamodel.ForwardType(it.ForwardingType); t != plugins.ForwardUnspecified && it.ForwardStatus {
				s.Forwarding = append(s.Forwarding, plugins.Forwarding{Type: t, To: strings.TrimSpace(it.ForwardDN), Enabled: true})
			}
		}
	}
	return s, mwi, nil
}

// deviceQuery builds an ECMA-269 Get… request with one device element.
func (d *Driver) deviceQuery(name, device string) *csta.RawMessage {
	var b bytes.Buffer
	b.WriteString("<device>")
	_ = xml.EscapeText(&b, []byte(d.cfg.ids.wire(device)))
	b.WriteString("</device>")
	return &csta.RawMessage{XMLName: xml.Name{Space: d.cfg.edition.Namespace(), Local: name}, Inner: b.Bytes()}
}

// Interface guards.
var (
	_ sdk.Driver           = (*Driver)(nil)
	_ sdk.Describer        = (*Driver)(nil)
	_ sdk.Closer           = (*Driver)(nil)
	_ sdk.MakeCaller       = (*Driver)(nil)
	_ sdk.Answerer         = (*Driver)(nil)
	_ sdk.Clearer          = (*Driver)(nil)
	_ sdk.Holder           = (*Driver)(nil)
	_ sdk.Retriever        = (*Driver)(nil)
	_ sdk.Consulter        = (*Driver)(nil)
	_ sdk.Transferer       = (*Driver)(nil)
	_ sdk.Conferencer      = (*Driver)(nil)
	_ sdk.DNDSetter        = (*Driver)(nil)
	_ sdk.ForwardingSetter = (*Driver)(nil)
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
