package ctisim

import "github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"

// Connection states (localConnectionInfo) as a simulated switch writes
// them.
const (
	StateNull      = "null"
	StateInitiated = "initiated"
	StateAlerting  = "alerting"
	StateConnected = "connected"
	StateHold      = "hold"
	StateFail      = "fail"
	StateQueued    = "queued"
)

// The CSTAErrorCode answers of a simulated switch (ECMA-269 §9.2).
var (
	ErrNoSession         = &cstaxml.ErrorCode{Category: cstaxml.CategorySecurity, Value: "generic"}
	ErrInvalidDevice     = &cstaxml.ErrorCode{Category: cstaxml.CategoryOperation, Value: "invalidDeviceID"}
	ErrInvalidConnection = &cstaxml.ErrorCode{Category: cstaxml.CategoryOperation, Value: "invalidConnectionID"}
	ErrInvalidState      = &cstaxml.ErrorCode{Category: cstaxml.CategoryStateIncompatibility, Value: "invalidObjectState"}
	ErrLicence           = &cstaxml.ErrorCode{Category: cstaxml.CategorySystemResourceAvailability, Value: "overallMonitorLimitExceeded"}
	ErrInvalidCrossRef   = &cstaxml.ErrorCode{Category: cstaxml.CategoryOperation, Value: "invalidCrossRefID"}
	ErrGeneric           = &cstaxml.ErrorCode{Category: cstaxml.CategoryOperation, Value: "generic"}
)

// Errorf is a CSTAErrorCode answer of category cat and value val.
func Errorf(cat, val string) *cstaxml.ErrorCode {
	return &cstaxml.ErrorCode{Category: cat, Value: val}
}

// Result is a service's response plus the events to send after it, so
// the response leaves first.
type Result struct {
	Msg   cstaxml.Message
	After []func()
}

// Fail is the Result of a refused service.
func Fail(e *cstaxml.ErrorCode) Result { return Result{Msg: e} }

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
