package b2bua

import (
	"errors"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
)

// What the caller gets with a callee's final error response: the status
// alone is often useless (a 302 without its Contact, a 503 without its
// Retry-After), so the headers that make it actionable are relayed too.
// Everything else of the callee's response stays on its leg (a B2BUA
// does not leak the far end's Via, Record-Route, tags or credentials).

// relayedError is a callee's final status with the headers the caller
// gets with it (relayHeaders).
type relayedError struct {
	se *statusError
	hs []sip.Header
}

func (e *relayedError) Error() string { return e.se.Error() }
func (e *relayedError) Unwrap() error { return e.se }

// rejected is the error for a callee's final non-2xx response res: its
// status, and the headers worth relaying (relayHeaders).
func rejected(res *sip.Response) error {
	se := &statusError{res.StatusCode, res.Reason}
	hs := relayHeaders(res)
	if len(hs) == 0 {
		return se
	}
	return &relayedError{se: se, hs: hs}
}

// relayHeaders picks the headers of a final response the caller needs to
// act on it:
//
//   - Contact of a 3xx and of a 485 (RFC 3261 §21.3, §21.4.23): where to
//     call instead;
//   - Retry-After of 404, 413, 480, 486, 500, 503, 600, 603 (RFC 3261
//     §20.33): when to try again;
//   - Warning of any error (RFC 3261 §20.43), such as the 488's reason
//     why the media was refused (RFC 3261 §21.4.26);
//   - Unsupported of a 420 (RFC 3261 §20.40, §21.4.15);
//   - Min-SE of a 422 (RFC 4028 §6);
//   - Accept, Accept-Encoding and Accept-Language of a 415 (RFC 3261
//     §21.4.13);
//   - Reason of any error, SIP or Q.850 (RFC 6432: the ISDN cause of a
//     PBX or carrier), filtered as on BYE (reason.go).
func relayHeaders(res *sip.Response) []sip.Header {
	var names []string
	code := res.StatusCode
	switch {
	case code >= 300 && code < 400, code == 485:
		names = append(names, "Contact")
	}
	switch code {
	case 404, 413, 480, 486, 500, 503, 600, 603:
		names = append(names, "Retry-After")
	case 420:
		names = append(names, "Unsupported")
	case 422:
		names = append(names, "Min-SE")
	case 415:
		names = append(names, "Accept", "Accept-Encoding", "Accept-Language")
	}
	if code >= 300 {
		names = append(names, "Warning")
	}
	var hs []sip.Header
	for _, n := range names {
		for _, h := range res.GetHeaders(n) {
			if v := strings.TrimSpace(h.Value()); v != "" {
				hs = append(hs, sip.NewHeader(n, v))
			}
		}
	}
	if code >= 300 {
		hs = append(hs, reasonsOf(res)...)
	}
	return hs
}

// relayedHeaders are the callee's headers an error carries for the caller.
func relayedHeaders(err error) []sip.Header {
	var re *relayedError
	if errors.As(err, &re) {
		return re.hs
	}
	return nil
}

// relayOut is hs as the caller gets them: a Contact of the callee (a
// PBX's redirect target, often a host of its own LAN) becomes the same
// user at our domain, so that the caller's new call comes to us and is
// routed and admitted like any dialled number (policy.go); a Contact
// without a user part, or not a sip/sips URI, is dropped.
func (b *B2BUA) relayOut(hs []sip.Header) []sip.Header {
	out := make([]sip.Header, 0, len(hs))
	for _, h := range hs {
		if !strings.EqualFold(h.Name(), "Contact") {
			out = append(out, h)
			continue
		}
		if ct, ok := redirectContact(h); ok {
			u := ct.Address
			ct.Address = sip.Uri{Scheme: "sip", User: u.User, Host: b.o.Domain}
			ct.DisplayName = ""
			out = append(out, ct)
		}
	}
	return out
}

// redirectContact reads one Contact value of a 3xx.
func redirectContact(h sip.Header) (*sip.ContactHeader, bool) {
	ct, ok := h.(*sip.ContactHeader)
	if ok {
		ct = ct.Clone()
	} else {
		ct = &sip.ContactHeader{Params: sip.NewParams()}
		if _, err := sip.ParseAddressValue(h.Value(), &ct.Address, &ct.Params); err != nil {
			return nil, false
		}
	}
	s := strings.ToLower(ct.Address.Scheme)
	if ct.Address.User == "" || (s != "sip" && s != "sips") {
		return nil, false
	}
	return ct, true
}

// failedWith is the last failover status a trunk answered, if any.
func failedWith(res *dnssrv.Result) *sip.Response {
	if res == nil {
		return nil
	}
	return res.Response
}
