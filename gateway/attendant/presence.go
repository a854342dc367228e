package attendant

import (
	"fmt"
	"strings"
)

// Presence is a presence state in CloudLink's terms (seed 002).
type Presence string

// The presence states. Their precedence, when several sessions (devices,
// lines, the user's own setting) are combined, is CloudLink's (seed 002,
// "precedenze per la combinazione degli stati di sessione in CloudLink"):
// Away > DND > Busy > Available > Offline > Unknown.
const (
	PresenceAway      Presence = "away"
	PresenceDND       Presence = "dnd"
	PresenceBusy      Presence = "busy"
	PresenceAvailable Presence = "available"
	PresenceOffline   Presence = "offline"
	PresenceUnknown   Presence = "unknown"
)

// rank orders the presences by seed 002's precedence; 0 is not a presence.
func (p Presence) rank() int {
	switch p {
	case PresenceAway:
		return 6
	case PresenceDND:
		return 5
	case PresenceBusy:
		return 4
	case PresenceAvailable:
		return 3
	case PresenceOffline:
		return 2
	case PresenceUnknown:
		return 1
	}
	return 0
}

// Valid reports whether p is one of the six presences.
func (p Presence) Valid() bool { return p.rank() > 0 }

// Aggregate combines presence sessions with seed 002's precedence; no
// session at all is Unknown.
func Aggregate(ps ...Presence) Presence {
	best := PresenceUnknown
	for _, p := range ps {
		if p.rank() > best.rank() {
			best = p
		}
	}
	return best
}

// LinePresence is the PBX line presence of a lamp (seed 002: "when you
// place or answer a call on the desk phone the presence is Busy,
// otherwise Available"). A ringing line is not yet a call the user is
// in: Available. A stale or offline line is Offline; a line never seen is
// Unknown.
func LinePresence(l LineState, stale bool) Presence {
	switch {
	case l == LineUnknown:
		return PresenceUnknown
	case stale || l == LineOffline:
		return PresenceOffline
	case l == LineBusy || l == LineHeld:
		return PresenceBusy
	}
	return PresenceAvailable
}

// ErrUnknownPresence is returned for a presence name that neither the
// API nor the MiVO400 mapping knows.
var ErrUnknownPresence = fmt.Errorf("unknown presence")

// FromMiVO400 maps a MiVoice Office 400 user presence state (its default
// English names) to CloudLink presence, by seed 002's table ("mappatura
// della presenza da MiVO400 PBX a CloudLink"): Available → Available,
// Absent → Away, Busy or In a meeting → Busy, Unavailable → DND.
func FromMiVO400(state string) (Presence, error) {
	switch strings.ToLower(strings.TrimSpace(state)) {
	case "available":
		return PresenceAvailable, nil
	case "absent":
		return PresenceAway, nil
	case "busy", "in a meeting":
		return PresenceBusy, nil
	case "unavailable":
		return PresenceDND, nil
	}
	return "", fmt.Errorf("mivo400 presence %q: %w", state, ErrUnknownPresence)
}

// MiVO400 is the MiVoice Office 400 user presence state p is shown as
// (the reverse of [FromMiVO400]; Busy shows as "Busy"). Offline and
// Unknown have no MiVO400 user state: "".
func (p Presence) MiVO400() string {
	switch p {
	case PresenceAvailable:
		return "Available"
	case PresenceAway:
		return "Absent"
	case PresenceBusy:
		return "Busy"
	case PresenceDND:
		return "Unavailable"
	}
	return ""
}

// ParseUserPresence reads a presence a user sets: one of available, away,
// busy, dnd (the API's names), or a MiVO400 state name. Offline and
// Unknown are not something a user sets.
func ParseUserPresence(s string) (Presence, error) {
	switch p := Presence(strings.ToLower(s)); p {
	case PresenceAvailable, PresenceAway, PresenceBusy, PresenceDND:
		return p, nil
	}
	return FromMiVO400(s)
}

// MaskDigits replaces the last n digits of number with "x" (seed 004:
// forwarding destinations shown to colleagues, "mask last 3 digits").
// Characters that are not digits stay as they are and are not counted.
func MaskDigits(number string, n int) string {
	b := []byte(number)
	for i := len(b) - 1; i >= 0 && n > 0; i-- {
		if b[i] >= '0' && b[i] <= '9' {
			b[i] = 'x'
			n--
		}
	}
	return string(b)
}
