package mitel

import (
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard-gw/switchboard/drivers/csta"
	"github.com/switchboard-gw/switchboard/plugins"
)

// What the driver assumes about MiVO400 without a public source (README,
// "Guesses"): the ECMA-354 session, the login carrier, the device ID form
// and the port. A PBX that answers otherwise on the first connection
// fails Start with an *IncompatibleError naming what was expected and the
// config switch for the variant, instead of a link_down loop: the host
// does not restart a driver whose Start says plugins.ErrIncompatible.

// IncompatibleError is a PBX answering otherwise than the driver expects.
type IncompatibleError struct {
	// Address is the PBX's address.
	Address string
	// Expected is what the driver expected, Got what came instead.
	Expected, Got string
	// Hint names the config switch that may fit this PBX.
	Hint string
}

// Error implements error.
func (e *IncompatibleError) Error() string {
	s := fmt.Sprintf("mitel: %s: expected %s, got %s", e.Address, e.Expected, e.Got)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Is makes errors.Is(err, plugins.ErrIncompatible) true.
func (e *IncompatibleError) Is(target error) bool { return target == plugins.ErrIncompatible }

// incompatible classifies the error of a failed first connection: nil when
// it is not the PBX answering differently (unreachable, refused TCP, our
// context ending), which is retried in the background.
func (c *Config) incompatible(err error) error {
	inc := func(expected, got, hint string) error {
		return fmt.Errorf("%w: %w", &IncompatibleError{Address: c.Address, Expected: expected, Got: got, Hint: hint}, err)
	}
	const framing = "CSTA XML frames (8-byte header: 0x0000, total length, 4-digit invoke ID)"
	var se *csta.SessionError
	var ce *csta.CSTAErrorCode
	switch {
	case errors.Is(err, errDial):
		return nil
	case errors.Is(err, csta.ErrBadFormat), errors.Is(err, csta.ErrBadLength), errors.Is(err, csta.ErrBadInvokeID),
		errors.Is(err, csta.ErrTruncated):
		return inc(framing, describe(err), "wrong port (MiVO400's CSTA port is set on the PBX, not public), "+
			"TLS on one side only (tls), or not an ECMA-323 XML interface")
	case errors.Is(err, csta.ErrMalformed), errors.Is(err, csta.ErrInvalidUTF8), errors.Is(err, csta.ErrNoRoot):
		return inc("ECMA-323 XML documents", describe(err), "not a CSTA XML interface")
	case errors.As(err, &se) && se.DefinedError == "invalidApplicationInfo":
		return inc("the login accepted in applicationSpecificInfo as "+c.loginShape()+" (a guess)",
			se.Response+" invalidApplicationInfo",
			"check user and password; or try login_carrier "+c.otherCarrier()+", or session none")
	case errors.As(err, &se) && se.DefinedError == "requestedProtocolVersionNotSupported":
		return inc("protocol version "+c.edition.Namespace()+" accepted", se.Response+" requestedProtocolVersionNotSupported",
			"try another edition: ed3, ed4, ed5, ed6")
	case errors.As(err, &se):
		return inc("a StartApplicationSessionPosResponse (ECMA-354 session, a guess)", se.Response+" "+se.DefinedError, "")
	case c.Session == SessionECMA354 && errors.As(err, &ce):
		return inc("a StartApplicationSessionPosResponse (ECMA-354 session, a guess)", "CSTAErrorCode "+ce.Category+"/"+ce.Value,
			"the PBX may have no application sessions: try session none")
	case errors.Is(err, csta.ErrUnexpectedResponse):
		return inc("the response the request names", describe(err), "")
	case c.Session == SessionECMA354 && errors.Is(err, errSession) && (errors.Is(err, csta.ErrClosed) ||
		errors.Is(err, errNoAnswer)):
		// Not for good: a busy or restarting PBX is silent too. The
		// link_down says what was expected, and the link is retried.
		return &silentError{inc("an answer to StartApplicationSession (ECMA-354 session, a guess)", describe(err),
			"the PBX may have no application sessions: try session none; or a wrong port")}
	case c.Session == SessionNone && errors.As(err, &ce):
		return inc("SystemStatus answered without an application session", "CSTAErrorCode "+ce.Category+"/"+ce.Value,
			"the PBX wants a session: session ecma354")
	}
	return nil
}

// describe is err's text without the wrapping.
func describe(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": csta: "); i >= 0 {
		return s[i+2:]
	}
	return s
}

// loginShape names the login carrier configured.
func (c *Config) loginShape() string {
	if c.LoginCarrier == LoginAvayaSessionLoginInfo {
		return "<SessionLoginInfo xmlns=\"" + avayaNS + "\">"
	}
	return "<SessionLoginInfo> without a namespace"
}

func (c *Config) otherCarrier() string {
	if c.LoginCarrier == LoginAvayaSessionLoginInfo {
		return LoginSessionLoginInfo
	}
	return LoginAvayaSessionLoginInfo
}

// avayaNS is the namespace AE Services' SessionLoginInfo is in.
const avayaNS = "http://www.avaya.com/csta"

// Errors that mark the step a connection failed at.
var (
	errDial     = errors.New("dial")
	errSession  = errors.New("session")
	errNoAnswer = errors.New("no answer")
)

// deviceIDs writes the host's device names in the PBX's form and reads
// them back (Config.DeviceIDFormat).
type deviceIDs struct{ prefix, suffix string }

// parseDeviceIDFormat reads a pattern holding "{device}" once.
func parseDeviceIDFormat(f string) (deviceIDs, error) {
	const tok = "{device}"
	if strings.Count(f, tok) != 1 {
		return deviceIDs{}, errors.New(`want "{device}" exactly once`)
	}
	i := strings.Index(f, tok)
	return deviceIDs{prefix: f[:i], suffix: f[i+len(tok):]}, nil
}

// wire is dev as the PBX writes it.
func (f deviceIDs) wire(dev string) string {
	if dev == "" {
		return ""
	}
	return f.prefix + dev + f.suffix
}

// model is a PBX device ID as the host names it: the bare name when id has
// the configured form, else id unchanged (an external number, or a device
// the PBX writes otherwise).
func (f deviceIDs) model(id string) string {
	if f.prefix == "" && f.suffix == "" {
		return id
	}
	if len(id) > len(f.prefix)+len(f.suffix) && strings.HasPrefix(id, f.prefix) && strings.HasSuffix(id, f.suffix) {
		return id[len(f.prefix) : len(id)-len(f.suffix)]
	}
	return id
}

// silentError is an expectation the PBX may yet meet (it did not answer,
// or closed the link): told in link_down, not a failed Start.
type silentError struct{ err error }

func (e *silentError) Error() string { return e.err.Error() }

// Is keeps a silent PBX from counting as incompatible.
func (e *silentError) Is(target error) bool { return false }

// explain is the link_down reason of a failed connection: what the driver
// expected when the PBX answered otherwise, else err's own text.
func (c *Config) explain(err error) string {
	if e := c.incompatible(err); e != nil {
		return e.Error()
	}
	return err.Error()
}
