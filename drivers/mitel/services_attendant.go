package mitel

import (
	"context"
	"fmt"

	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/plugins"
)

// The attendant services (ECMA-269 §17.1 GroupPickupCall, CampOnCall,
// CallBackCallRelated, IntrudeCall; accountCode on MakeCall and
// ConsultationCall). They are standard ECMA-269 services; whether a
// MiVoice Office 400 offers each is not public (its CSTA description is
// partner-only, README "Guesses"): the driver sends them as the standard
// has them, and a PBX that refuses one answers a CSTAErrorCode, which
// reaches the console as that refusal (never as a fake success).

// GroupPickup implements sdk.GroupPicker (CSTA GroupPickupCall with
// pickGroup).
func (d *Driver) GroupPickup(ctx context.Context, device, group string) (plugins.ConnectionRef, error) {
	if device == "" {
		return plugins.ConnectionRef{}, fmt.Errorf("group pickup: %w: device is required", plugins.ErrInvalidArgument)
	}
	req := &csta.GroupPickupCall{NewDestination: d.wireDevice(device)}
	if group != "" {
		g := d.wireDevice(group)
		req.PickGroup = &g
	}
	resp, err := d.call(ctx, "group pickup", req)
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	if pc := resp.(*csta.GroupPickupCallResponse).PickedCall; pc != nil {
		return d.ref(*pc), nil
	}
	return plugins.ConnectionRef{Device: device}, nil
}

// CampOn implements sdk.CampOner (CSTA CampOnCall).
func (d *Driver) CampOn(ctx context.Context, c plugins.ConnectionRef) error {
	cid, err := d.connOf(ctx, "camp on", c)
	if err != nil {
		return err
	}
	_, err = d.call(ctx, "camp on", &csta.CampOnCall{CamponConnection: cid})
	return err
}

// CallBack implements sdk.CallBacker (CSTA CallBackCallRelated).
func (d *Driver) CallBack(ctx context.Context, c plugins.ConnectionRef) error {
	cid, err := d.connOf(ctx, "call back", c)
	if err != nil {
		return err
	}
	_, err = d.call(ctx, "call back", &csta.CallBackCallRelated{CallBackConnection: cid})
	return err
}

// Intrude implements sdk.Intruder (CSTA IntrudeCall, active
// participation).
func (d *Driver) Intrude(ctx context.Context, c plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	cid, err := d.connOf(ctx, "intrude", c)
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	resp, err := d.call(ctx, "intrude", &csta.IntrudeCall{Intrude: cid})
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	if cc := resp.(*csta.IntrudeCallResponse).ConferencedCall; cc != nil {
		return d.ref(*cc), nil
	}
	return plugins.ConnectionRef{Device: c.Device}, nil
}

// ConsultationAccount implements sdk.AccountCoder (CSTA ConsultationCall
// with accountCode).
func (d *Driver) ConsultationAccount(ctx context.Context, existing plugins.ConnectionRef, to, account string) (plugins.ConnectionRef, error) {
	cid, err := d.conn(existing)
	if err != nil || to == "" {
		return plugins.ConnectionRef{}, fmt.Errorf("consultation: %w: need a connection and a destination", plugins.ErrInvalidArgument)
	}
	resp, err := d.call(ctx, "consultation", &csta.ConsultationCall{ExistingCall: cid, ConsultedDevice: csta.Device(to), AccountCode: account})
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	return d.ref(resp.(*csta.ConsultationCallResponse).InitiatedCall), nil
}

// ReportsQueues implements sdk.QueueReporter: group devices are
// monitored like stations (QueuedEvent numberQueued/callsInFront), and
// the configured directory's category marks them as queues.
func (d *Driver) ReportsQueues() bool { return true }

// category is device's category in the configured directory.
func (d *Driver) category(device string) plugins.DeviceCategory {
	for _, e := range d.cfg.Directory {
		if e.Device == device {
			return e.Category
		}
	}
	return plugins.CategoryUnspecified
}
