package dnssrv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Options configures a Resolver. The zero value works: servers from
// /etc/resolv.conf and the defaults below.
type Options struct {
	// Servers are the DNS servers as host:port (a bare IP address means
	// port 53), asked in order. Default: the nameservers in
	// /etc/resolv.conf.
	Servers []string
	// Timeout bounds one query to one server. Default: 2s.
	Timeout time.Duration
	// Attempts is how many rounds over Servers a lookup makes. Default: 2.
	Attempts int
	// EDNSBuffer is the EDNS0 UDP payload size advertised (RFC 6891), and
	// the largest UDP answer read. 0 means 1232 (DNS flag day 2020); -1
	// sends no EDNS0 (512-byte answers).
	EDNSBuffer int
	// IPv4Only skips AAAA lookups.
	IPv4Only bool
	// Transports are the transports used, in order of preference, when
	// the domain publishes no NAPTR records (RFC 3263 §4.1); NAPTR
	// services for other transports are ignored too.
	// Default: udp, tcp, tls.
	Transports []Transport
	// CacheSize bounds the cached lookups. Default: 10000.
	CacheSize int
	// MaxStale is how long past its TTL an answer is still served while a
	// refresh runs (RFC 8767). Default: 24h; -1 disables serving stale.
	MaxStale time.Duration
	// MaxNegativeTTL caps how long a negative answer (NXDOMAIN, no data)
	// is cached (RFC 2308). Default: 30s.
	MaxNegativeTTL time.Duration
	// Now is the clock (tests inject one). Default: time.Now.
	Now func() time.Time
	// Rand returns a uniform number in [0, n) for RFC 2782 weighting.
	// Default: math/rand/v2.
	Rand func(n uint32) uint32
	// Logger receives lookup failures at debug level. Default: discard.
	Logger *slog.Logger
}

// Resolver turns SIP URIs into ordered targets (RFC 3263 §4) with a cache.
// It is safe for concurrent use; Close ends its background lookups.
type Resolver struct {
	q          *querier
	cache      *cache
	now        func() time.Time
	rnd        func(uint32) uint32
	ipv6       bool
	transports []Transport
	negMax     time.Duration
	log        *slog.Logger

	naptrBroken onceLog // names whose NAPTR lookup failed, logged
}

// NewResolver returns a resolver. It fails only when no DNS server is
// given and none can be read from /etc/resolv.conf.
func NewResolver(o Options) (*Resolver, error) {
	servers, err := normalizeServers(o.Servers)
	if err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Attempts <= 0 {
		o.Attempts = 2
	}
	buf := uint16(1232)
	switch {
	case o.EDNSBuffer < 0:
		buf = 0
	case o.EDNSBuffer > 0:
		buf = uint16(min(max(o.EDNSBuffer, dns.MinMsgSize), dns.MaxMsgSize))
	}
	if len(o.Transports) == 0 {
		o.Transports = []Transport{UDP, TCP, TLS}
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 10000
	}
	switch {
	case o.MaxStale == 0:
		o.MaxStale = 24 * time.Hour
	case o.MaxStale < 0:
		o.MaxStale = 0
	}
	if o.MaxNegativeTTL <= 0 {
		o.MaxNegativeTTL = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = randN
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Resolver{
		q:          newQuerier(servers, o.Timeout, o.Attempts, buf),
		cache:      newCache(o.CacheSize, o.MaxStale, o.Now),
		now:        o.Now,
		rnd:        o.Rand,
		ipv6:       !o.IPv4Only,
		transports: slices.Clone(o.Transports),
		negMax:     o.MaxNegativeTTL,
		log:        o.Logger,
	}, nil
}

// normalizeServers adds port 53 where missing, or reads resolv.conf.
func normalizeServers(in []string) ([]string, error) {
	if len(in) == 0 {
		cc, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil {
			return nil, fmt.Errorf("dnssrv: no dns.servers given and /etc/resolv.conf unreadable: %w", err)
		}
		for _, s := range cc.Servers {
			in = append(in, net.JoinHostPort(s, cc.Port))
		}
		if len(in) == 0 {
			return nil, errors.New("dnssrv: no dns.servers given and none in /etc/resolv.conf")
		}
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
			s = net.JoinHostPort(a.String(), "53")
		} else if _, _, err := net.SplitHostPort(s); err != nil {
			return nil, fmt.Errorf("dnssrv: DNS server %q: want IP or IP:port", s)
		}
		out = append(out, s)
	}
	return out, nil
}

// Servers returns the DNS servers asked, as host:port.
func (r *Resolver) Servers() []string { return slices.Clone(r.q.servers) }

// Close stops lookups in flight and waits for them; later lookups fail
// with ErrClosed.
func (r *Resolver) Close() error {
	r.cache.close()
	return nil
}

// Flush empties the cache.
func (r *Resolver) Flush() { r.cache.flush() }

// Resolve parses uri (a sip: or sips: URI, or host[:port]) and resolves it.
func (r *Resolver) Resolve(ctx context.Context, uri string) ([]Target, error) {
	t, err := ParseTarget(uri)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrBadTarget, uri, err)
	}
	return r.ResolveTarget(ctx, t)
}

// ResolveTarget returns the targets for t in the order to try them
// (RFC 3263 §4), or an error (ErrNoTargets, ErrNoService, a *QueryError
// wrapping ErrNXDomain...) when there is none. Targets some of whose
// lookups failed are left out; the rest are returned.
func (r *Resolver) ResolveTarget(ctx context.Context, t SIPTarget) ([]Target, error) {
	now := r.now()
	tp := Transport(t.Transport)
	if tp != "" && !tp.valid() {
		return nil, fmt.Errorf("%w: transport %q", ErrBadTarget, t.Transport)
	}
	// §4.1: a numeric host or an explicit port, without a transport
	// parameter: UDP for sip, TLS (TCP) for sips.
	if tp == "" && (t.IsIP() || t.Port != 0) {
		tp = UDP
		if t.Secure {
			tp = TLS
		}
	}
	// §4.2: an IP address needs no DNS.
	if a, err := netip.ParseAddr(t.Host); err == nil {
		port := uint16(t.Port)
		if port == 0 {
			port = tp.DefaultPort()
		}
		return []Target{{Transport: tp, Host: a.String(), Addr: netip.AddrPortFrom(a.Unmap(), port), Source: SourceIP}}, nil
	}
	host := dns.Fqdn(t.Host)
	// §4.2: an explicit port: A/AAAA only.
	if t.Port != 0 {
		return r.hostTargets(ctx, host, uint16(t.Port), tp, SourceA, 0, 0, maxTTL, now)
	}
	if tp != "" {
		// §4.2: transport known, no port: SRV for it.
		ts, found, err := r.srvTargets(ctx, srvName(tp, host), tp, SourceSRV, maxTTL, now)
		if found || transient(err) {
			return ts, err
		}
	} else {
		// §4.1: NAPTR first.
		ts, found, err := r.naptrTargets(ctx, host, t.Secure, now)
		if found {
			return ts, err
		}
		if transient(err) {
			if ctx.Err() != nil || errors.Is(err, ErrClosed) {
				return nil, err
			}
			// A server that answers NAPTR with REFUSED or SERVFAIL, or not
			// at all (DNS filters, corporate servers), has said nothing
			// about the domain's services: go on as without NAPTR records
			// (§4.1: SRV, then A/AAAA), and say so once.
			r.naptrBroken.note(host, err, r.now(), r.log)
		}
		// No usable NAPTR: SRV for each transport we use.
		var res []Target
		var srvErr error
		anySRV := false
		for _, p := range r.transports {
			if t.Secure && !p.Secure() {
				continue
			}
			ts, found, err := r.srvTargets(ctx, srvName(p, host), p, SourceSRV, maxTTL, now)
			anySRV = anySRV || found
			res = append(res, ts...)
			if err != nil && (srvErr == nil || !transient(srvErr) && transient(err)) {
				srvErr = err
			}
		}
		if anySRV || transient(srvErr) {
			return r.finish(res, srvErr)
		}
		// No SRV at all: UDP for sip, TLS for sips (§4.1, last paragraph).
		tp = UDP
		if t.Secure {
			tp = TLS
		}
	}
	return r.hostTargets(ctx, host, tp.DefaultPort(), tp, SourceA, 0, 0, maxTTL, now)
}

// maxTTL is a TTL bound larger than any record's.
const maxTTL = time.Duration(1<<31) * time.Second

// finish returns ts, or err (ErrNoTargets when nil) if ts is empty.
func (r *Resolver) finish(ts []Target, err error) ([]Target, error) {
	if len(ts) > 0 {
		if len(ts) > maxTargets {
			ts = ts[:maxTargets]
		}
		return ts, nil
	}
	if err == nil {
		err = ErrNoTargets
	}
	return nil, err
}

// maxTargets bounds the targets returned for one URI.
const maxTargets = 64

// naptrTargets follows NAPTR → SRV → A/AAAA. found reports whether usable
// NAPTR records exist; then the result stands, without SRV guesses.
func (r *Resolver) naptrTargets(ctx context.Context, host string, secure bool, now time.Time) ([]Target, bool, error) {
	set, ttl, err := r.lookup(ctx, host, dns.TypeNAPTR)
	if err != nil {
		if errors.Is(err, ErrNoData) || errors.Is(err, ErrNXDomain) {
			return nil, false, nil
		}
		return nil, false, err
	}
	rrs := make([]*dns.NAPTR, 0, len(set))
	for _, rr := range set {
		rrs = append(rrs, rr.(*dns.NAPTR))
	}
	choices := orderNAPTR(rrs, secure, r.allowed)
	if len(choices) == 0 {
		return nil, false, nil
	}
	var res []Target
	var first error
	for _, c := range choices {
		ts, _, err := r.srvTargets(ctx, c.srv, c.tp, SourceNAPTR, ttl, now)
		res = append(res, ts...)
		if err != nil && first == nil {
			first = err
		}
	}
	ts, err := r.finish(res, first)
	return ts, true, err
}

// allowed reports whether tp is one of the configured transports.
func (r *Resolver) allowed(tp Transport) bool { return slices.Contains(r.transports, tp) }

// srvTargets looks up one SRV name and the addresses of its targets, in
// RFC 2782 order. found reports whether SRV records exist at the name
// (even only "."); a set holding only "." gives ErrNoService.
func (r *Resolver) srvTargets(ctx context.Context, name string, tp Transport, src Source, ttl time.Duration, now time.Time) ([]Target, bool, error) {
	set, left, err := r.lookup(ctx, name, dns.TypeSRV)
	if err != nil {
		return nil, false, err
	}
	ttl = min(ttl, left)
	srvs := make([]*dns.SRV, 0, len(set))
	for _, rr := range set {
		srvs = append(srvs, rr.(*dns.SRV))
	}
	ordered := orderSRV(srvs, r.rnd)
	if len(ordered) == 0 {
		return nil, true, queryError(name, dns.TypeSRV, "", ErrNoService)
	}
	var res []Target
	var first error
	for _, s := range ordered {
		ts, err := r.hostTargets(ctx, s.Target, s.Port, tp, src, s.Priority, s.Weight, ttl, now)
		res = append(res, ts...)
		if err != nil && first == nil {
			first = err
		}
	}
	ts, err := r.finish(res, first)
	return ts, true, err
}

// hostTargets looks up A (and AAAA) of host: one target per address, in
// the order of the answer, IPv4 first.
func (r *Resolver) hostTargets(ctx context.Context, host string, port uint16, tp Transport, src Source, prio, weight uint16, ttl time.Duration, now time.Time) ([]Target, error) {
	var res []Target
	var first error
	types := []uint16{dns.TypeA, dns.TypeAAAA}
	if !r.ipv6 {
		types = types[:1]
	}
	name := strings.TrimSuffix(host, ".")
	for _, qt := range types {
		set, left, err := r.lookup(ctx, host, qt)
		if err != nil {
			if first == nil || errors.Is(first, ErrNoData) {
				first = err
			}
			continue
		}
		t := min(ttl, left)
		for _, rr := range set {
			var a netip.Addr
			switch v := rr.(type) {
			case *dns.A:
				a, _ = netip.AddrFromSlice(v.A.To4())
			case *dns.AAAA:
				a, _ = netip.AddrFromSlice(v.AAAA)
			}
			res = append(res, Target{
				Transport: tp, Host: name, Addr: netip.AddrPortFrom(a, port),
				Priority: prio, Weight: weight, TTL: t, Expires: now.Add(t), Source: src,
			})
		}
	}
	if len(res) == 0 {
		if first == nil {
			first = queryError(host, dns.TypeA, "", ErrNoTargets)
		}
		return nil, first
	}
	return res, nil
}

// lookup returns the records of qtype at name, from the cache or DNS,
// following CNAMEs, with the TTL left.
func (r *Resolver) lookup(ctx context.Context, name string, qtype uint16) ([]dns.RR, time.Duration, error) {
	k := cacheKey{name: strings.ToLower(dns.Fqdn(name)), qtype: qtype}
	set, left := r.cache.get(ctx, k, func(ctx context.Context) rrset { return r.fetch(ctx, k.name, qtype) })
	if set.err != nil {
		return nil, 0, set.err
	}
	return set.rrs, left, nil
}

// fetch queries DNS for (name, qtype), following a CNAME chain across
// queries when the server did not.
func (r *Resolver) fetch(ctx context.Context, name string, qtype uint16) rrset {
	qname := name
	ttl := uint32(1<<32 - 1)
	hops := 0
	for {
		m, server, err := r.q.exchange(ctx, qname, qtype)
		if err != nil {
			r.log.Debug("dns lookup failed", "name", qname, "type", dns.TypeToString[qtype], "server", server, "error", err)
			return rrset{err: queryError(qname, qtype, server, err)}
		}
		set := extract(m, qname, qtype, r.negMax)
		hops += set.hops
		ttl = min(ttl, set.ttl)
		switch {
		case set.err != nil:
			set.err = queryError(qname, qtype, server, set.err)
			set.ttl = ttl
			r.log.Debug("dns lookup negative", "name", qname, "type", dns.TypeToString[qtype], "error", set.err)
			return set
		case set.next == "":
			set.ttl = ttl
			return set
		case hops > maxCNAME:
			return rrset{err: queryError(name, qtype, server, ErrCNAMELoop), ttl: uint32(r.negMax / time.Second)}
		}
		qname = set.next
	}
}

// transient reports whether err is a failure to get an answer (as opposed
// to an answer saying no), which must not replace good data.
func transient(err error) bool {
	return err != nil && !errors.Is(err, ErrNXDomain) && !errors.Is(err, ErrNoData) && !errors.Is(err, ErrCNAMELoop)
}
