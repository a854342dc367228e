package config

import "time"

// Calls configures the B2BUA's handling of answered calls.
type Calls struct {
	// SessionExpires is the session interval the gateway asks for on the
	// legs it places and when a caller supports session timers without
	// asking for an interval (RFC 4028 §4, §7.1, §9): the refresher
	// refreshes at half of it, the other side ends the call when no
	// refresh came. At least min_se, at most 24h. Default: 1800s.
	SessionExpires Duration `yaml:"session_expires"`

	// MinSE is the smallest session interval the gateway takes: a request
	// asking for less gets 422 with this Min-SE (RFC 4028 §9), the initial
	// INVITE and in-dialog refreshes alike. From 90s (RFC 4028 §4: no UA
	// may ask for less) to 24h. Default: 90s.
	MinSE Duration `yaml:"min_se"`
}

// defaultCalls returns the calls defaults (RFC 4028 §4).
func defaultCalls() Calls {
	return Calls{SessionExpires: Duration(1800 * time.Second), MinSE: Duration(90 * time.Second)}
}

func (d *decoder) validateCalls(c *Calls) {
	minSE, se := c.MinSE.D(), c.SessionExpires.D()
	if minSE < 90*time.Second || minSE > 24*time.Hour || minSE%time.Second != 0 {
		d.errorf("calls.min_se", "%s is out of range: must be whole seconds from 90s (RFC 4028 §4) to 24h", minSE)
		return
	}
	if se < minSE || se > 24*time.Hour || se%time.Second != 0 {
		d.errorf("calls.session_expires", "%s is out of range: must be whole seconds from min_se (%s) to 24h", se, minSE)
	}
}
