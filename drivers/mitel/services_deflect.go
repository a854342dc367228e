package mitel

import (
	"context"
	"fmt"

	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// Deflect implements sdk.Deflecter (CSTA DeflectCall, ECMA-269 §17.1.11:
// callToBeDiverted, newDestination): a call alerting at a device, or
// waiting in a hunt group's queue, goes on to another device. The
// console takes a waiting call out of a queue with it. Like the other
// attendant services (services_attendant.go) it is the standard service
// as ECMA-269 has it; a MiVoice Office 400 that refuses it answers a
// CSTAErrorCode, which reaches the console as that refusal.
func (d *Driver) Deflect(ctx context.Context, c plugins.ConnectionRef, to string) error {
	cid, err := d.connOf(ctx, "deflect", c)
	if err != nil {
		return err
	}
	if to == "" {
		return fmt.Errorf("deflect: %w: destination is required", plugins.ErrInvalidArgument)
	}
	_, err = d.call(ctx, "deflect", &csta.DeflectCall{CallToBeDiverted: cid, NewDestination: d.wireDevice(to)})
	return err
}

var _ sdk.Deflecter = (*Driver)(nil)
