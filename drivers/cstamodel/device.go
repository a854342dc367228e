package cstamodel

import (
	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/plugins"
)

// Device is what a CSTA driver tracks of one monitored device: its calls
// and features, from the PBX's snapshot at monitor start plus every event
// since. A driver keeps it under the lock its event processor holds.
type Device struct {
	Calls   Calls
	DND     bool
	MWI     bool // message waiting: MessageWaitingEvent, or the PBX's answer to GetMessageWaitingIndicator where the driver asks
	Fwd     map[plugins.ForwardingType]plugins.Forwarding
	Touched uint64 // events applied; lets a late snapshot yield to them
}

// NewDevice returns a device with no calls and no forwarding.
func NewDevice() *Device {
	return &Device{Calls: Calls{}, Fwd: map[plugins.ForwardingType]plugins.Forwarding{}}
}

// ApplySnapshot takes the PBX's snapshot, asked for when the device had
// applied touched events: the features always, the calls only if no event
// was applied since (the events are newer than the snapshot). It reports
// whether it took the calls: when not, the device's calls are only what
// the events said, calls older than them are missing (after a link
// drop, none are known), and the snapshot must be asked for again
// ([pbxlink.ResnapDelay]).
func (dv *Device) ApplySnapshot(snap *plugins.DeviceSnapshot, touched uint64) bool {
	took := dv.Touched == touched
	if took {
		dv.Calls = Calls{}
		for _, c := range snap.Calls {
			dv.Calls[c.CallID] = c
		}
	}
	dv.DND = snap.DND
	dv.Fwd = map[plugins.ForwardingType]plugins.Forwarding{}
	for _, f := range snap.Forwarding {
		dv.Fwd[f.Type] = f
	}
	return took
}

// Snapshot returns the device's state as the snapshot of device with
// sequence number seq, sorted. A nil Device has no calls.
func (dv *Device) Snapshot(device string, seq uint64) plugins.DeviceSnapshot {
	s := plugins.DeviceSnapshot{Device: device, Calls: []plugins.CallSnapshot{}, Seq: seq}
	if dv != nil {
		for _, c := range dv.Calls {
			s.Calls = append(s.Calls, c)
		}
		s.DND, s.MessageWaiting = dv.DND, dv.MWI
		for _, f := range dv.Fwd {
			s.Forwarding = append(s.Forwarding, f)
		}
	}
	SortSnapshot(&s)
	return s
}

// MessageWaiting applies a CSTA MessageWaitingEvent (ECMA-269 §21.2.x) to
// the device and returns the model event to emit, base carrying the
// monitor and device.
func (dv *Device) MessageWaiting(base plugins.Event, e *csta.MessageWaitingEvent) plugins.Event {
	dv.MWI = e.MessageWaitingOn
	base.Type, base.MessageWaiting = plugins.EventMessageWaiting, e.MessageWaitingOn
	if e.DeviceForMessage != nil {
		base.Other = e.DeviceForMessage.Value
	}
	return base
}

// Names returns a lookup of the names dir gives devices ("" for a device
// it does not list), for Translator.NameOf.
func Names(dir []plugins.DirectoryEntry) func(device string) string {
	if len(dir) == 0 {
		return nil
	}
	m := make(map[string]string, len(dir))
	for _, e := range dir {
		if e.Name != "" {
			m[e.Device] = e.Name
		}
	}
	return func(device string) string { return m[device] }
}
