package mitel

import "github.com/switchboard-gw/switchboard/plugins"

// Presence is a user's presence in Switchboard's terms.
type Presence string

// The presence values, with the MiVoice Office 400 user presence each
// stands for (Mitel's CloudLink / Mitel One mapping, seed 002).
const (
	PresenceAvailable Presence = "available" // MiVO400 "Available"
	PresenceAway      Presence = "away"      // MiVO400 "Absent"
	PresenceBusy      Presence = "busy"      // MiVO400 "Busy" or "In a meeting"
	PresenceDND       Presence = "dnd"       // MiVO400 "Unavailable"
)

// userPresence maps MiVO400 user presence names (as an administrator has
// not renamed them) to Presence.
var userPresence = map[string]Presence{
	"Available":    PresenceAvailable,
	"Absent":       PresenceAway,
	"Busy":         PresenceBusy,
	"In a meeting": PresenceBusy,
	"Unavailable":  PresenceDND,
}

// FromUserPresence maps a MiVO400 user presence name to Presence; ok is
// false for names it does not know (renamed states).
func FromUserPresence(name string) (p Presence, ok bool) {
	p, ok = userPresence[name]
	return p, ok
}

// UserPresence is the MiVO400 user presence a Presence is shown as.
func (p Presence) UserPresence() string {
	switch p {
	case PresenceAway:
		return "Absent"
	case PresenceBusy:
		return "Busy"
	case PresenceDND:
		return "Unavailable"
	}
	return "Available"
}

// PresenceOf derives a device's presence from what CSTA carries. The
// MiVO400 user presence attribute has no public CSTA carrier, so it is
// read from the device state, as the seed describes Mitel combining them:
//
//   - forwarding immediate on → away ("Absent": the user's calls go
//     elsewhere);
//   - do-not-disturb on → dnd ("Unavailable");
//   - any call at the device not idle → busy (PBX line presence "Busy");
//   - otherwise available.
//
// The precedence is CloudLink's: away > dnd > busy > available.
func PresenceOf(s plugins.DeviceSnapshot) Presence {
	for _, f := range s.Forwarding {
		if f.Enabled && f.Type == plugins.ForwardImmediate {
			return PresenceAway
		}
	}
	if s.DND {
		return PresenceDND
	}
	for _, c := range s.Calls {
		if c.State != plugins.StateNull && c.State != plugins.StateUnspecified {
			return PresenceBusy
		}
	}
	return PresenceAvailable
}
