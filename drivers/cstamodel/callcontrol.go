package cstamodel

import (
	"context"

	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/plugins"
)

// CallControl runs the ECMA-269 call control services the CSTA drivers
// ask for alike: answer, clear, hold, retrieve, transfer, conference. How
// a model connection is named on the wire (a MiVO400 extension, an AES
// device ID looked up first) and how a request is sent are the driver's,
// handed in as functions.
type CallControl struct {
	// Send sends req on the current link, errors mapped to the plugins
	// errors and prefixed with what (the service's name).
	Send func(ctx context.Context, what string, req csta.Message) (csta.Message, error)
	// Conn names a model connection as the PBX does; errors are
	// prefixed with what.
	Conn func(ctx context.Context, what string, c plugins.ConnectionRef) (csta.ConnectionID, error)
	// Ref names a PBX connection as the model does.
	Ref func(csta.ConnectionID) plugins.ConnectionRef
}

// Simple runs a service whose request names one connection.
func (cc *CallControl) Simple(ctx context.Context, what string, c plugins.ConnectionRef, mk func(csta.ConnectionID) csta.Message) error {
	cid, err := cc.Conn(ctx, what, c)
	if err != nil {
		return err
	}
	_, err = cc.Send(ctx, what, mk(cid))
	return err
}

// Answer is CSTA AnswerCall.
func (cc *CallControl) Answer(ctx context.Context, c plugins.ConnectionRef) error {
	return cc.Simple(ctx, "answer", c, func(id csta.ConnectionID) csta.Message { return &csta.AnswerCall{CallToBeAnswered: id} })
}

// Clear is CSTA ClearConnection.
func (cc *CallControl) Clear(ctx context.Context, c plugins.ConnectionRef) error {
	return cc.Simple(ctx, "clear", c, func(id csta.ConnectionID) csta.Message {
		return &csta.ClearConnection{ConnectionToBeCleared: id}
	})
}

// Hold is CSTA HoldCall.
func (cc *CallControl) Hold(ctx context.Context, c plugins.ConnectionRef) error {
	return cc.Simple(ctx, "hold", c, func(id csta.ConnectionID) csta.Message { return &csta.HoldCall{CallToBeHeld: id} })
}

// Retrieve is CSTA RetrieveCall.
func (cc *CallControl) Retrieve(ctx context.Context, c plugins.ConnectionRef) error {
	return cc.Simple(ctx, "retrieve", c, func(id csta.ConnectionID) csta.Message {
		return &csta.RetrieveCall{CallToBeRetrieved: id}
	})
}

// Transfer is CSTA TransferCall: held and active are joined and the
// transferring device leaves. Without a transferredCall in the answer the
// result is the active call.
func (cc *CallControl) Transfer(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	h, a, err := cc.pair(ctx, "transfer", held, active)
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	resp, err := cc.Send(ctx, "transfer", &csta.TransferCall{HeldCall: h, ActiveCall: a})
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	if r := resp.(*csta.TransferCallResponse); r.TransferredCall != nil {
		return cc.Ref(*r.TransferredCall), nil
	}
	return plugins.ConnectionRef{CallID: active.CallID}, nil
}

// Conference is CSTA ConferenceCall. Without a conferenceCall in the
// answer the result is the active connection.
func (cc *CallControl) Conference(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	h, a, err := cc.pair(ctx, "conference", held, active)
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	resp, err := cc.Send(ctx, "conference", &csta.ConferenceCall{HeldCall: h, ActiveCall: a})
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	if r := resp.(*csta.ConferenceCallResponse); r.ConferenceCall != nil {
		return cc.Ref(*r.ConferenceCall), nil
	}
	return plugins.ConnectionRef{Device: active.Device, CallID: active.CallID}, nil
}

func (cc *CallControl) pair(ctx context.Context, what string, held, active plugins.ConnectionRef) (csta.ConnectionID, csta.ConnectionID, error) {
	h, err := cc.Conn(ctx, what, held)
	if err != nil {
		return h, h, err
	}
	a, err := cc.Conn(ctx, what, active)
	return h, a, err
}

// Reconnect is CSTA ReconnectCall (ECMA-269 §17.2.19): active (the
// consultation) is cleared and held retrieved. The result is the held
// connection, active again.
func (cc *CallControl) Reconnect(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	h, a, err := cc.pair(ctx, "reconnect", held, active)
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	if _, err := cc.Send(ctx, "reconnect", &csta.ReconnectCall{ActiveCall: a, HeldCall: h}); err != nil {
		return plugins.ConnectionRef{}, err
	}
	return held, nil
}

// Alternate is CSTA AlternateCall (ECMA-269 §17.2.2): active is held and
// held retrieved. The result is the connection now active (held's).
func (cc *CallControl) Alternate(ctx context.Context, held, active plugins.ConnectionRef) (plugins.ConnectionRef, error) {
	h, a, err := cc.pair(ctx, "alternate", held, active)
	if err != nil {
		return plugins.ConnectionRef{}, err
	}
	if _, err := cc.Send(ctx, "alternate", &csta.AlternateCall{HeldCall: h, ActiveCall: a}); err != nil {
		return plugins.ConnectionRef{}, err
	}
	return held, nil
}
