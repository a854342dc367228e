package b2bua

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Divert is where a user's calls go when they cannot be answered: a
// number (typically the voicemail pilot on the PBX, as with NuPoint UM)
// for busy and for no answer (config users[].divert).
type Divert struct {
	// Busy receives the call when every device of the user is busy, or
	// the user has no device registered. "" = no diversion on busy.
	Busy string
	// NoAnswer receives the call when no device answered within
	// NoAnswerTimeout. "" = no diversion on no answer.
	NoAnswer string
	// NoAnswerTimeout is how long the user's devices ring first.
	// Default: 20 s.
	NoAnswerTimeout time.Duration
	// Always receives every call at once, none ringing (unconditional
	// forwarding, set through gwcti). "" = none.
	Always string
}

// errForwardAlways: the user forwards every call (Divert.Always).
var errForwardAlways = errors.New("b2bua: forwarded unconditionally")

// DefaultNoAnswerTimeout is Divert.NoAnswerTimeout's default.
const DefaultNoAnswerTimeout = 20 * time.Second

// diversion is one diversion that happened: from whom, why, to what.
type diversion struct {
	from   string // the diverting user's number as dialled
	to     string // the diversion target
	reason string // RFC 5806 reason: user-busy, no-answer, unavailable
	cause  int    // RFC 4458 cause: 486, 408, 503
}

// divertFor returns the diversion to apply after a user's devices failed
// with err, if the user has one configured for that outcome.
func (c *call) divertFor(user string, err error) (diversion, bool) {
	gw := c.gw
	var df *deflection
	if errors.As(err, &df) && c.diverted == nil {
		return diversion{from: c.num, to: df.to, reason: "deflection", cause: 480}, true // Deflect (control.go)
	}
	if dv, ok := c.queueDiversion(err); ok {
		return dv, true // a queue's overflow (queue.go)
	}
	if user == "" || gw.o.Divert == nil || c.diverted != nil {
		return diversion{}, false // at most one diversion per call
	}
	dv, ok := gw.o.Divert(user)
	if !ok {
		return diversion{}, false
	}
	var se *statusError
	switch {
	case errors.Is(err, errForwardAlways) && dv.Always != "":
		return diversion{from: c.num, to: dv.Always, reason: "unconditional", cause: 302}, true
	case errors.Is(err, ErrNoAnswer) && dv.NoAnswer != "":
		return diversion{from: c.num, to: dv.NoAnswer, reason: "no-answer", cause: 408}, true
	case errors.As(err, &se) && (se.code == 486 || se.code == 600) && dv.Busy != "":
		return diversion{from: c.num, to: dv.Busy, reason: "user-busy", cause: 486}, true
	case errors.Is(err, ErrUnavailable) && dv.Busy != "":
		// No device registered: the voicemail takes it, as on busy.
		return diversion{from: c.num, to: dv.Busy, reason: "unavailable", cause: 503}, true
	}
	return diversion{}, false
}

// noAnswerTimeout is how long user's devices ring before the call is
// diverted or given up.
func (c *call) noAnswerTimeout(user string) time.Duration {
	gw := c.gw
	if user == "" || gw.o.Divert == nil || c.diverted != nil {
		return ringTimeout
	}
	dv, ok := gw.o.Divert(user)
	if !ok || dv.NoAnswer == "" {
		return ringTimeout
	}
	if dv.NoAnswerTimeout > 0 {
		return dv.NoAnswerTimeout
	}
	return DefaultNoAnswerTimeout
}

// diversionHeaders are the headers a diverted INVITE carries, so the
// PBX's voicemail knows whose box to open:
//
//   - Diversion (RFC 5806 §3): the diverting number, the reason and the
//     counter;
//   - History-Info (RFC 7044 §4.1, §10.2): the original target with the
//     Reason it failed with in its URI (§4.3), then the new target,
//     mapped from it (mp, §4.2.2), with the RFC 4458 cause.
func (c *call) diversionHeaders(dv diversion) []sip.Header {
	domain := c.gw.o.Domain
	orig := fmt.Sprintf("sip:%s@%s", dv.from, domain)
	reason := fmt.Sprintf("SIP;cause=%d;text=%q", dv.cause, reasonText(dv.cause))
	hiOrig := fmt.Sprintf("<%s?Reason=%s>;index=1", orig, escapeHeaderValue(reason))
	hiNew := fmt.Sprintf("<sip:%s@%s;cause=%d>;index=1.1;mp=1", dv.to, domain, dv.cause)
	return []sip.Header{
		sip.NewHeader("Diversion", fmt.Sprintf("<%s>;reason=%s;counter=1;privacy=off", orig, dv.reason)),
		sip.NewHeader("History-Info", hiOrig+","+hiNew),
	}
}

func reasonText(cause int) string {
	switch cause {
	case 486:
		return "Busy Here"
	case 408:
		return "Request Timeout"
	case 302:
		return "Moved Temporarily"
	case 480:
		return "Temporarily Unavailable"
	}
	return "Service Unavailable"
}

// escapeHeaderValue escapes a header value for the headers part of a
// SIP URI (RFC 3261 §19.1.1, hvalue).
func escapeHeaderValue(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// divertOf is user's diversion, if any.
func (c *call) divertOf(user string) (Divert, bool) {
	if user == "" || c.gw.o.Divert == nil {
		return Divert{}, false
	}
	return c.gw.o.Divert(user)
}
