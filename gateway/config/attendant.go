package config

import (
	"fmt"
	"time"
)

// Attendant configures the northbound attendant API (issue 14): the
// event stream, park and safe transfer, operator groups and the console
// link listeners of seed 004.
type Attendant struct {
	// ParkRecall is how long a call parked through the API stays parked
	// before it is recalled to the operator's device that parked it; 0
	// never recalls. 0 to 1h. Default: 60s.
	ParkRecall Duration `yaml:"park_recall"`

	// SafeTransfer is how long a blind transfer made through the API may
	// ring unanswered before it comes back to the operator; a busy target
	// brings it back at once. 0 turns safe transfer off. 0 to 10m.
	// Default: 30s.
	SafeTransfer Duration `yaml:"safe_transfer"`

	// OperatorsSeeAllParked: every operator sees every call parked
	// through the API, not only their own (seed 004, "Operators can see
	// calls parked by other operators"). Supervisors and admins always
	// see all. Default: false.
	OperatorsSeeAllParked bool `yaml:"operators_see_all_parked"`

	// Groups name, for each operator group (accounts' groups), the device
	// ids ("<source>:<device>") its operators may act on. With no groups
	// at all, operators may act on every device. Default: none.
	Groups []AttendantGroup `yaml:"groups"`

	// Operators maps an account to its own device ("<source>:<device>"):
	// where its parked calls are recalled to, and the one device whose DND
	// and forwarding an operator may change (supervisors: any). Default:
	// none.
	Operators []AttendantOperator `yaml:"operators"`

	// ForwardingMask hides the last N digits of forwarding destinations
	// shown to operators for devices not their own (seed 004, "Call
	// forward destination: mask last 3 digits"). 0 to 20. Default: 0.
	ForwardingMask int `yaml:"forwarding_mask"`

	// EventRing is how many event stream messages are kept for clients
	// that reconnect with since=. 100 to 1000000. Default: 10000.
	EventRing int `yaml:"event_ring"`

	// ClientQueue is how many messages may wait for one event stream
	// client; one that falls further behind is dropped (and gets a
	// snapshot on reconnect). 16 to 1000000. Default: 4096.
	ClientQueue int `yaml:"client_queue"`

	// ConsoleLink configures the console link listeners (seed 004).
	ConsoleLink ConsoleLink `yaml:"console_link"`

	// Queues are the operator queues the gateway hosts (queue.go).
	Queues []OperatorQueue `yaml:"queues"`
}

// AttendantGroup is one operator group's devices.
type AttendantGroup struct {
	Name    string   `yaml:"name"`
	Devices []string `yaml:"devices"`
}

// AttendantOperator is one account's own device.
type AttendantOperator struct {
	Account string `yaml:"account"`
	Device  string `yaml:"device"`
}

// GroupDevices returns the devices of group name.
func (a *Attendant) GroupDevices(name string) []string {
	for _, g := range a.Groups {
		if g.Name == name {
			return g.Devices
		}
	}
	return nil
}

// OperatorDevice returns the own device of account ("" if none).
func (a *Attendant) OperatorDevice(account string) string {
	for _, o := range a.Operators {
		if o.Account == account {
			return o.Device
		}
	}
	return ""
}

// ConsoleLink is where the attendant consoles connect besides the HTTPS
// port: the same API on 51235 over TLS (the certificate of the HTTPS
// side) and, only when enabled, on 51234 in plain TCP.
type ConsoleLink struct {
	// TLS is host:port of the TLS listener; "" turns it off.
	// Default: 0.0.0.0:51235.
	TLS string `yaml:"tls"`
	// Plain is host:port of the plain listener, used only when
	// PlainEnabled. Default: 0.0.0.0:51234.
	Plain string `yaml:"plain"`
	// PlainEnabled opens the plain listener. Default: false.
	PlainEnabled bool `yaml:"plain_enabled"`
}

// defaultAttendant returns the attendant defaults.
func defaultAttendant() Attendant {
	return Attendant{
		ParkRecall: Duration(60 * time.Second), SafeTransfer: Duration(30 * time.Second),
		EventRing: 10000, ClientQueue: 4096,
		ConsoleLink: ConsoleLink{TLS: "0.0.0.0:51235", Plain: "0.0.0.0:51234"},
	}
}

func (d *decoder) validateAttendant(a *Attendant) {
	if a.ParkRecall < 0 || a.ParkRecall.D() > time.Hour {
		d.errorf("attendant.park_recall", "%s is out of range: must be from 0 (never) to 1h", a.ParkRecall.D())
	}
	if a.SafeTransfer < 0 || a.SafeTransfer.D() > 10*time.Minute {
		d.errorf("attendant.safe_transfer", "%s is out of range: must be from 0 (off) to 10m", a.SafeTransfer.D())
	}
	if a.EventRing < 100 || a.EventRing > 1000000 {
		d.errorf("attendant.event_ring", "%d is out of range: must be from 100 to 1000000", a.EventRing)
	}
	if a.ClientQueue < 16 || a.ClientQueue > 1000000 {
		d.errorf("attendant.client_queue", "%d is out of range: must be from 16 to 1000000", a.ClientQueue)
	}
	seen := map[string]bool{}
	for gi, g := range a.Groups {
		if g.Name == "" || seen[g.Name] {
			d.errorf(fmt.Sprintf("attendant.groups[%d].name", gi), "%q: a group needs a unique name", g.Name)
		}
		seen[g.Name] = true
		for i, dev := range g.Devices {
			if src, id, ok := cutID(dev); !ok || src == "" || id == "" {
				d.errorf(fmt.Sprintf("attendant.groups[%d].devices[%d]", gi, i), "%q is not a device id <source>:<device>", dev)
			}
		}
	}
	accts := map[string]bool{}
	for i, o := range a.Operators {
		if o.Account == "" || accts[o.Account] {
			d.errorf(fmt.Sprintf("attendant.operators[%d].account", i), "%q: an operator needs a unique account", o.Account)
		}
		accts[o.Account] = true
		if src, id, ok := cutID(o.Device); !ok || src == "" || id == "" {
			d.errorf(fmt.Sprintf("attendant.operators[%d].device", i), "%q is not a device id <source>:<device>", o.Device)
		}
	}
	if a.ForwardingMask < 0 || a.ForwardingMask > 20 {
		d.errorf("attendant.forwarding_mask", "%d is out of range: must be from 0 to 20", a.ForwardingMask)
	}
	for _, l := range []struct{ key, v string }{{"attendant.console_link.tls", a.ConsoleLink.TLS}, {"attendant.console_link.plain", a.ConsoleLink.Plain}} {
		if l.v == "" {
			continue
		}
		if _, _, err := parseHostPort(l.v); err != nil {
			d.errorf(l.key, "%q: %v", l.v, err)
		}
	}
	d.validateQueues(a.Queues) // queue.go
	if a.ConsoleLink.PlainEnabled && a.ConsoleLink.Plain == "" {
		d.errorf("attendant.console_link.plain", "plain_enabled needs a plain address")
	}
}

// cutID splits a device id on its first ":".
func cutID(s string) (source, id string, ok bool) {
	for i := range len(s) {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}
