package ctisim

import "github.com/switchboard-gw/switchboard/drivers/csta"

// Connection states (localConnectionInfo) as a simulated switch writes
// them.
const (
	StateNull      = "null"
	StateInitiated = "initiated"
	StateAlerting  = "alerting"
	StateConnected = "connected"
	StateHold      = "hold"
	StateFail      = "fail"
)

// The CSTAErrorCode answers of a simulated switch (ECMA-269 §9.2).
var (
	ErrNoSession         = &csta.CSTAErrorCode{Category: csta.CategorySecurity, Value: "generic"}
	ErrInvalidDevice     = &csta.CSTAErrorCode{Category: csta.CategoryOperation, Value: "invalidDeviceID"}
	ErrInvalidConnection = &csta.CSTAErrorCode{Category: csta.CategoryOperation, Value: "invalidConnectionID"}
	ErrInvalidState      = &csta.CSTAErrorCode{Category: csta.CategoryStateIncompatibility, Value: "invalidObjectState"}
	ErrLicence           = &csta.CSTAErrorCode{Category: csta.CategorySystemResourceAvailability, Value: "overallMonitorLimitExceeded"}
	ErrInvalidCrossRef   = &csta.CSTAErrorCode{Category: csta.CategoryOperation, Value: "invalidCrossRefID"}
	ErrGeneric           = &csta.CSTAErrorCode{Category: csta.CategoryOperation, Value: "generic"}
)

// Errorf is a CSTAErrorCode answer of category cat and value val.
func Errorf(cat, val string) *csta.CSTAErrorCode {
	return &csta.CSTAErrorCode{Category: cat, Value: val}
}

// Result is a service's response plus the events to send after it, so
// the response leaves first.
type Result struct {
	Msg   csta.Message
	After []func()
}

// Fail is the Result of a refused service.
func Fail(e *csta.CSTAErrorCode) Result { return Result{Msg: e} }

// Party is one device's connection to a simulated call.
type Party struct {
	Device string
	State  string // localConnectionInfo
}

// Call is a simulated call: who placed it, whom they called, and the
// devices connected to it now.
type Call struct {
	ID      string
	Calling string
	Called  string
	Parties []*Party
}

// Party returns dev's connection to c, nil if dev has none.
func (c *Call) Party(dev string) *Party {
	for _, p := range c.Parties {
		if p.Device == dev {
			return p
		}
	}
	return nil
}

// Tell calls in for each device in c, once each, then out for each of
// extra not in c: how a switch sends one event to every device a call
// concerns.
func (c *Call) Tell(in, out func(dev string), extra ...string) {
	seen := map[string]bool{}
	for _, p := range c.Parties {
		if !seen[p.Device] {
			seen[p.Device] = true
			in(p.Device)
		}
	}
	for _, d := range extra {
		if !seen[d] {
			seen[d] = true
			out(d)
		}
	}
}
