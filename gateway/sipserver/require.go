package sipserver

import (
	"sort"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// callTags are the option tags (RFC 3261 §19.2) the gateway implements for
// calls and the requests inside them: reliable provisionals (RFC 3262,
// b2bua/prack.go), session timers (RFC 4028, b2bua/timer.go), Replaces
// (RFC 3891, b2bua/refer.go) and REFER without subscription (RFC 4488).
var callTags = map[string]bool{"100rel": true, "timer": true, "replaces": true, "norefersub": true}

// optionsTags are what an OPTIONS may require: everything the gateway
// advertises in its Supported header, the registrar's path (RFC 3327) and
// outbound (RFC 5626) included.
var optionsTags = map[string]bool{"100rel": true, "timer": true, "replaces": true, "norefersub": true,
	"path": true, "outbound": true}

// supportedHeader is the Supported value of our OPTIONS answers.
var supportedHeader = func() string {
	tags := make([]string, 0, len(optionsTags))
	for t := range optionsTags {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	return strings.Join(tags, ", ")
}()

// unsupportedRequire returns the option tags of req's Require headers the
// gateway does not implement for method (RFC 3261 §8.2.2.3), in the order
// given. REGISTER is left to the registrar, which knows its own tags; ACK
// and CANCEL are exempt (RFC 3261 §8.2.2.3: their Require is ignored).
func unsupportedRequire(method sip.RequestMethod, req *sip.Request) []string {
	var known map[string]bool
	switch method {
	case "", sip.REGISTER, sip.ACK, sip.CANCEL:
		return nil
	case sip.OPTIONS:
		known = optionsTags
	default:
		known = callTags
	}
	var bad []string
	for _, h := range req.Headers() {
		if !strings.EqualFold(h.Name(), "Require") {
			continue
		}
		for _, t := range strings.Split(h.Value(), ",") {
			t = strings.TrimSpace(t)
			if t != "" && !known[strings.ToLower(t)] {
				bad = append(bad, t)
			}
		}
	}
	return bad
}

// badExtension is the 420 for unsupported option tags, listing them in
// Unsupported (RFC 3261 §8.2.2.3, §20.40).
func (s *Server) badExtension(req *sip.Request, tags []string) *sip.Response {
	res := sip.NewResponseFromRequest(req, sip.StatusBadExtension, "Bad Extension", nil)
	res.AppendHeader(sip.NewHeader("Unsupported", strings.Join(tags, ", ")))
	res.AppendHeader(sip.NewHeader("Server", s.o.ServerName))
	return res
}
