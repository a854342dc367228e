package b2bua

import (
	"errors"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Reason (RFC 3326): why a call ended or a branch was cancelled. A BYE or
// CANCEL from one leg carries its Reason to the other leg's BYE or CANCEL
// (with Q.850 causes, RFC 6432, as ISDN gateways and PBXs send them), and
// the BYEs the gateway originates say why it hung up.

// Reasons the gateway gives (RFC 3326 §2: protocol SIP with a status
// code, or Q.850 with an ISDN cause).
const (
	// reasonMediaTimeout: no RTP for media.timeout. Q.850 cause 41,
	// temporary failure, as media gateways report a dead bearer.
	reasonMediaTimeout = `Q.850;cause=41;text="media timeout"`
	// reasonSessionExpired: a session timer ran out (RFC 4028 §10).
	reasonSessionExpired = `SIP;cause=408;text="session expired"`
	// reasonNoAck: the caller never acknowledged our 2xx (RFC 3261
	// §13.3.1.4).
	reasonNoAck = `SIP;cause=408;text="no ACK"`
	// reasonTransferred: the transferor's leg ends after its transfer
	// completed (RFC 5589).
	reasonTransferred = `SIP;cause=200;text="call transferred"`
	// reasonShutdown: the gateway is stopping.
	reasonShutdown = `SIP;cause=503;text="gateway shutting down"`
)

// maxReasons and maxReasonLen bound what is passed from one leg to the
// other: one Reason per protocol in practice (RFC 3326 §2).
const (
	maxReasons   = 4
	maxReasonLen = 256
)

// reasonsOf are the Reason headers of req (a BYE, a CANCEL, a final
// response) worth passing to the other leg: protocol SIP or Q.850
// (RFC 3326 §2, RFC 6432), printable, bounded.
func reasonsOf(req headers) []sip.Header {
	var out []sip.Header
	for _, h := range req.GetHeaders("Reason") {
		for _, v := range strings.Split(h.Value(), ",") {
			v = strings.TrimSpace(v)
			proto, _, _ := strings.Cut(v, ";")
			proto = strings.ToUpper(strings.TrimSpace(proto))
			if (proto != "SIP" && proto != "Q.850") || len(v) > maxReasonLen || !printableASCII(v) {
				continue
			}
			if len(out) < maxReasons {
				out = append(out, sip.NewHeader("Reason", v))
			}
		}
	}
	return out
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// reasonFor is the Reason of a BYE the gateway sends because of cause;
// nil when the call ended normally.
func (c *call) reasonFor(cause error) []sip.Header {
	var v string
	switch {
	case errors.Is(cause, ErrMediaTimeout):
		v = reasonMediaTimeout
	case errors.Is(cause, ErrSessionExpired):
		v = reasonSessionExpired
	case errors.Is(cause, errNoAck):
		v = reasonNoAck
	case cause == nil && c.gw.ctx.Err() != nil:
		v = reasonShutdown
	default:
		return nil
	}
	return []sip.Header{sip.NewHeader("Reason", v)}
}

// joinReasons is the Reason of req worth passing on as one header value
// (RFC 3326 §2 allows a comma-separated list); "" when none.
func joinReasons(req *sip.Request) string {
	var vs []string
	for _, h := range reasonsOf(req) {
		vs = append(vs, h.Value())
	}
	return strings.Join(vs, ", ")
}
