package dnssrv

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// maxCNAME bounds a CNAME chain, inside one answer and across the queries
// needed to follow it (RFC 1034 §3.6.2 asks resolvers to stop loops).
const maxCNAME = 8

// maxRecords bounds how many records of one set are used, so that an
// answer stuffed with records cannot blow up the target list.
const maxRecords = 32

// rrset is the outcome of one lookup: the records of the type asked for
// (after following CNAMEs) and the TTL to keep them, or a negative or
// failed outcome.
type rrset struct {
	rrs []dns.RR
	ttl uint32 // seconds; for negative answers, the RFC 2308 §5 TTL
	err error  // nil, or ErrNXDomain, ErrNoData, ErrServFail, ...
	// next is the end of an unfinished CNAME chain: the name to ask for
	// next (only between extract and the resolver).
	next string
	hops int // CNAMEs followed
}

// extract reads the answer to (qname, qtype) from r, which check has
// accepted: the records of qtype owned by qname or by the end of the CNAME
// chain starting at it. A chain that leaves the answer without reaching
// records sets next. Negative answers take their TTL from the SOA in the
// authority section (RFC 2308 §5), capped at negMax; without one, negMax.
func extract(r *dns.Msg, qname string, qtype uint16, negMax time.Duration) rrset {
	name := qname
	ttl := uint32(math.MaxUint32)
	seen := map[string]bool{strings.ToLower(name): true}
	hops := 0
	for {
		var rrs []dns.RR
		for _, rr := range r.Answer {
			h := rr.Header()
			if h.Rrtype == qtype && h.Class == dns.ClassINET && strings.EqualFold(h.Name, name) && usable(rr) {
				rrs = append(rrs, rr)
				ttl = min(ttl, h.Ttl)
				if len(rrs) == maxRecords {
					break
				}
			}
		}
		if len(rrs) > 0 {
			return rrset{rrs: rrs, ttl: ttl, hops: hops}
		}
		target := ""
		for _, rr := range r.Answer {
			if c, ok := rr.(*dns.CNAME); ok && c.Hdr.Class == dns.ClassINET && strings.EqualFold(c.Hdr.Name, name) {
				target = c.Target
				ttl = min(ttl, c.Hdr.Ttl)
				break
			}
		}
		if target == "" {
			break
		}
		hops++
		k := strings.ToLower(target)
		if seen[k] || hops > maxCNAME {
			return rrset{err: fmt.Errorf("%w: %s → %s", ErrCNAMELoop, qname, target), ttl: negTTL(r, negMax), hops: hops}
		}
		seen[k] = true
		name = target
	}
	if r.Rcode == dns.RcodeNameError {
		// After a CNAME, NXDOMAIN speaks of the end of the chain
		// (RFC 6604 §3); either way there is nothing to use.
		return rrset{err: ErrNXDomain, ttl: min(ttl, negTTL(r, negMax)), hops: hops}
	}
	if name != qname {
		return rrset{next: name, ttl: ttl, hops: hops}
	}
	return rrset{err: ErrNoData, ttl: negTTL(r, negMax), hops: hops}
}

// usable rejects records whose data cannot be used.
func usable(rr dns.RR) bool {
	switch v := rr.(type) {
	case *dns.A:
		return v.A.To4() != nil && !v.A.IsUnspecified()
	case *dns.AAAA:
		return len(v.AAAA) == 16 && v.AAAA.To4() == nil && !v.AAAA.IsUnspecified()
	case *dns.SRV:
		return v.Target != "" && (v.Target == "." || v.Port != 0)
	case *dns.NAPTR:
		return true
	}
	return false
}

// negTTL is the RFC 2308 §5 negative-caching TTL: the smaller of the SOA
// record's TTL and its MINIMUM field, capped at negMax. Without an SOA the
// answer is kept for negMax (RFC 2308 says not to cache it at all; keeping
// it briefly stops a lookup per call).
func negTTL(r *dns.Msg, negMax time.Duration) uint32 {
	capSec := uint32(negMax / time.Second)
	for _, rr := range r.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return min(soa.Hdr.Ttl, soa.Minttl, capSec)
		}
	}
	return capSec
}

// parseAnswer unpacks wire bytes as the answer to (qname, qtype) asked
// with id, and extracts the records. It is what the querier does with a
// datagram, in one function for fuzzing.
func parseAnswer(wire []byte, id uint16, qname string, qtype uint16, negMax time.Duration) rrset {
	r := new(dns.Msg)
	if err := r.Unpack(wire); err != nil {
		return rrset{err: fmt.Errorf("%w: %v", ErrMalformed, err)}
	}
	q := new(dns.Msg)
	q.SetQuestion(qname, qtype)
	q.Id = id
	if err := check(q, r); err != nil {
		return rrset{err: err}
	}
	return extract(r, qname, qtype, negMax)
}
