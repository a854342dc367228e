package config

// GatewayCTI configures the gateway as a CTI source (gateway/gwcti): its
// users' lamps and calls in the attendant API.
type GatewayCTI struct {
	// DNDStatus is the final response a caller gets when the called user
	// has do-not-disturb on (set through the attendant API): 486 (Busy
	// Here: the user's busy diversion applies) or 480 (Temporarily
	// Unavailable). Default: 486.
	DNDStatus int `yaml:"dnd_status"`
}

// defaultGatewayCTI returns the gateway_cti defaults.
func defaultGatewayCTI() GatewayCTI { return GatewayCTI{DNDStatus: 486} }

func (d *decoder) validateGatewayCTI(g *GatewayCTI) {
	if g.DNDStatus != 486 && g.DNDStatus != 480 {
		d.errorf("gateway_cti.dnd_status", "%d: must be 486 or 480", g.DNDStatus)
	}
}
