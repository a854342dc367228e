package pbxlink

import "github.com/switchboard-gw/switchboard/plugins"

// State is the link's state as the processor sees it, in event order. The
// zero value is "not known yet". A driver keeps it under the lock that
// guards its device state, so a snapshot never shows calls of a link the
// host was told is down.
type State int

// The link states.
const (
	Unknown State = iota
	Up
	Down
)

// GoDown records the link going down and returns the link_down event to
// emit, with reason as its raw cause. ok is false when the link was down
// already: the host hears one link_down per outage, not one per failed
// reconnect. The caller forgets the calls it knew when ok.
func (s *State) GoDown(reason string) (ev plugins.Event, ok bool) {
	if *s == Down {
		return plugins.Event{}, false
	}
	*s = Down
	return plugins.Event{Type: plugins.EventLinkDown, Cause: plugins.CauseLinkFailure, RawCause: reason}, true
}

// GoUp records the link coming up and returns the link_up event to emit.
func (s *State) GoUp() plugins.Event {
	*s = Up
	return plugins.Event{Type: plugins.EventLinkUp, Cause: plugins.CauseLinkFailure}
}
