package dnssrv

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// orderSRV returns the SRV records in the order RFC 2782 ("Usage rules")
// says to try them: lowest priority first; within one priority, a weighted
// random order in which weight-0 records have a small chance to go first
// and otherwise go last. Records whose target is "." are left out.
func orderSRV(rrs []*dns.SRV, rnd func(n uint32) uint32) []*dns.SRV {
	out := make([]*dns.SRV, 0, len(rrs))
	for _, r := range rrs {
		if r.Target != "." {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b *dns.SRV) int { return cmp.Compare(a.Priority, b.Priority) })
	for i := 0; i < len(out); {
		j := i + 1
		for j < len(out) && out[j].Priority == out[i].Priority {
			j++
		}
		weighted(out[i:j], rnd)
		i = j
	}
	return out
}

// weighted orders one priority group in place by RFC 2782's selection:
// put the weight-0 records first, take the running sum of weights, pick a
// uniform random number in [0, sum] and select the first record whose
// running sum is at least that number; repeat on the rest.
func weighted(g []*dns.SRV, rnd func(n uint32) uint32) {
	if len(g) < 2 {
		return
	}
	// "all those with weight 0 are placed at the beginning of the list"
	slices.SortStableFunc(g, func(a, b *dns.SRV) int {
		return cmp.Compare(min(a.Weight, 1), min(b.Weight, 1))
	})
	for k := 0; k < len(g)-1; k++ {
		var sum uint32
		for _, r := range g[k:] {
			sum += uint32(r.Weight)
		}
		pick := rnd(sum + 1) // uniform in [0, sum]
		var run uint32
		for m := k; m < len(g); m++ {
			run += uint32(g[m].Weight)
			if run >= pick {
				// Move the chosen record to position k, keeping the
				// others in order (weight-0 ones stay in front).
				r := g[m]
				copy(g[k+1:m+1], g[k:m])
				g[k] = r
				break
			}
		}
	}
}

// randN is the default random source: uniform in [0, n).
func randN(n uint32) uint32 { return rand.Uint32N(n) }

// naptrServices maps RFC 3263 §4.1 and RFC 7118 NAPTR services to the
// transport they name, and whether the service is SIPS.
var naptrServices = map[string]struct {
	tp     Transport
	secure bool
}{
	"SIP+D2U":  {UDP, false},
	"SIP+D2T":  {TCP, false},
	"SIPS+D2T": {TLS, true},
	"SIP+D2W":  {WS, false},
	"SIPS+D2W": {WSS, true},
}

// naptrChoice is one usable NAPTR record: the SRV name to look up and the
// transport it implies.
type naptrChoice struct {
	srv string
	tp  Transport
	ttl uint32
}

// orderNAPTR picks the NAPTR records RFC 3263 §4.1 lets a SIP client use,
// in order: flag "S", an empty regexp, a service we support (only SIPS
// services for a sips: URI), and a replacement. RFC 3403 §4.1: only the
// records with the lowest order among those usable are kept; they are
// sorted by preference.
func orderNAPTR(rrs []*dns.NAPTR, secure bool, allowed func(Transport) bool) []naptrChoice {
	var use []*dns.NAPTR
	for _, r := range rrs {
		s, ok := naptrServices[strings.ToUpper(r.Service)]
		switch {
		case !ok || !strings.EqualFold(r.Flags, "s") || r.Regexp != "" || r.Replacement == "." || r.Replacement == "":
		case secure && !s.secure, !allowed(s.tp):
		default:
			use = append(use, r)
		}
	}
	if len(use) == 0 {
		return nil
	}
	slices.SortStableFunc(use, func(a, b *dns.NAPTR) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.Preference, b.Preference))
	})
	out := make([]naptrChoice, 0, len(use))
	for _, r := range use {
		if r.Order != use[0].Order {
			break
		}
		out = append(out, naptrChoice{
			srv: r.Replacement,
			tp:  naptrServices[strings.ToUpper(r.Service)].tp,
			ttl: r.Hdr.Ttl,
		})
	}
	return out
}

// srvName returns the SRV owner name for a transport under domain
// (RFC 3263 §4.1, RFC 7118 §5 for WebSocket): _sip._udp, _sip._tcp,
// _sips._tcp, _sip._ws, _sips._ws.
func srvName(tp Transport, domain string) string {
	switch tp {
	case UDP:
		return "_sip._udp." + domain
	case TCP:
		return "_sip._tcp." + domain
	case TLS:
		return "_sips._tcp." + domain
	case WS:
		return "_sip._ws." + domain
	case WSS:
		return "_sips._ws." + domain
	}
	return ""
}
