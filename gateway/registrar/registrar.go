// Package registrar implements the SIP registrar (RFC 3261 §10) with digest
// authentication, RFC 3327 Path, RFC 5626 outbound basics and RFC 3581
// flows, over an in-memory location service whose every change is made
// durable in the store before the 200 OK is sent.
package registrar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/gateway/digest"
	"github.com/switchboard-gw/switchboard/gateway/sipauth"
	"github.com/switchboard-gw/switchboard/gateway/store"
)

// Directory answers the digest HA1 of a user; ok is false for unknown users.
type Directory interface {
	HA1(username, algorithm string) (ha1 string, ok bool)
}

// Persister makes binding changes durable; Apply returns once they are.
// *store.Writer implements it with group commit.
type Persister interface {
	Apply(ctx context.Context, changes ...store.BindingChange) error
}

// AuthObserver is told of digest outcomes per source address.
type AuthObserver = sipauth.Observer

// Options configure a Registrar. Zero values take the defaults noted.
type Options struct {
	Domains        []string      // SIP domains served (required)
	DefaultExpires time.Duration // when the phone asks none; default 3600s
	MinExpires     time.Duration // shorter → 423 (RFC 3261 §10.3 step 7); default 60s
	MaxExpires     time.Duration // longer is cut down; default 7200s
	MaxContacts    int           // per AOR; default 10
	Auth           *digest.Authenticator
	Users          Directory
	Persist        Persister
	Store          store.Store // read at Load, swept by Run
	Observer       AuthObserver
	// EdgeProxies reports whether a source is an edge proxy whose Path
	// header is honoured (RFC 3327 §5.3). nil: none is; a Path from any
	// other source is ignored, not stored and not echoed.
	EdgeProxies   func(netip.Addr) bool
	ServerName    string
	Logger        *slog.Logger
	Now           func() time.Time
	SweepInterval time.Duration // expired-binding sweep; default 30s
	// OnBindings is told of every change of an AOR's bindings (a
	// REGISTER, an expiry swept) with how many are left. It runs under
	// the AOR's lock: it must not block nor call the registrar or its
	// Location. Optional.
	OnBindings func(aor string, live int)
}

// Registrar answers REGISTER requests.
type Registrar struct {
	o       Options
	auth    *sipauth.Checker
	loc     *Location
	domains map[string]bool
	log     *slog.Logger
	mu      sync.Mutex // guards stats
	stats   Stats
}

// Stats counts registrar outcomes.
type Stats struct {
	Registered, Unregistered, Challenged, AuthFailed, Rejected, StoreErrors uint64
}

// New checks o and returns a Registrar with an empty location service; call
// Load to restore the persisted bindings.
func New(o Options) (*Registrar, error) {
	if len(o.Domains) == 0 {
		return nil, errors.New("registrar: no domain configured")
	}
	if o.Auth == nil || o.Users == nil || o.Persist == nil {
		return nil, errors.New("registrar: auth, users and persist are required")
	}
	if o.DefaultExpires <= 0 {
		o.DefaultExpires = 3600 * time.Second
	}
	if o.MinExpires <= 0 {
		o.MinExpires = 60 * time.Second
	}
	if o.MaxExpires <= 0 {
		o.MaxExpires = 7200 * time.Second
	}
	if o.MaxContacts <= 0 {
		o.MaxContacts = 10
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = 30 * time.Second
	}
	r := &Registrar{o: o, loc: NewLocation(), domains: map[string]bool{}, log: o.Logger}
	r.auth = &sipauth.Checker{Auth: o.Auth, HA1: o.Users.HA1, Observer: o.Observer, Log: o.Logger}
	for _, d := range o.Domains {
		r.domains[strings.ToLower(d)] = true
	}
	return r, nil
}

// Location returns the location service the registrar writes to.
func (r *Registrar) Location() *Location { return r.loc }

// Stats returns a snapshot of the counters.
func (r *Registrar) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

func (r *Registrar) count(f func(*Stats)) {
	r.mu.Lock()
	f(&r.stats)
	r.mu.Unlock()
}

// Load restores the persisted, unexpired bindings into memory.
func (r *Registrar) Load(ctx context.Context) (int, error) {
	if r.o.Store == nil {
		return 0, nil
	}
	bs, err := r.o.Store.Bindings(ctx)
	if err != nil {
		return 0, fmt.Errorf("load bindings: %w", err)
	}
	return r.loc.load(bs, r.o.Now()), nil
}

// Run sweeps expired bindings from memory and the store until ctx ends.
func (r *Registrar) Run(ctx context.Context) {
	t := time.NewTicker(r.o.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now := r.o.Now()
			n := r.loc.pruneTelling(now, r.o.OnBindings)
			if r.o.Store != nil {
				if _, err := r.o.Store.DeleteExpiredBindings(ctx, now); err != nil && ctx.Err() == nil {
					r.log.Warn("sweeping expired bindings", "error", err)
				}
			}
			if n > 0 {
				r.log.Debug("expired bindings removed", "count", n)
			}
		}
	}
}

// Respond answers one REGISTER (for sipserver.HandleStateless).
func (r *Registrar) Respond(ctx context.Context, req *sip.Request) *sip.Response {
	return r.register(ctx, req)
}

// Handle is the sipgo handler for REGISTER.
func (r *Registrar) Handle(req *sip.Request, tx sip.ServerTransaction) {
	// Timer F bounds how long the client waits for us (RFC 3261 §17.1.2.2).
	ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
	defer cancel()
	res := r.register(ctx, req)
	if err := tx.Respond(res); err != nil {
		r.log.Debug("sending REGISTER response", "error", err, "source", req.Source())
	}
}

// register runs RFC 3261 §10.3 and returns the response to send.
func (r *Registrar) register(ctx context.Context, req *sip.Request) *sip.Response {
	to := req.To()
	if to == nil || req.CallID() == nil || req.CSeq() == nil {
		return r.reply(req, sip.StatusBadRequest, "Bad Request")
	}
	// §10.3 steps 1 and 3: the AOR must belong to a domain we serve.
	domain, ok := r.servedDomain(req.Recipient.Host, to.Address.Host)
	if !ok || to.Address.User == "" {
		r.count(func(s *Stats) { s.Rejected++ })
		r.probed(req, to.Address.User+"@"+to.Address.Host)
		return r.reply(req, sip.StatusNotFound, "Not Found")
	}
	aor := to.Address.User + "@" + domain

	hs := scanHeaders(req)
	// §10.3 step 2 / §8.2.2.3: refuse extensions we do not support.
	if unsupported := unsupported(hs.require); unsupported != "" {
		res := r.reply(req, sip.StatusBadExtension, "Bad Extension")
		res.AppendHeader(sip.NewHeader("Unsupported", unsupported))
		return res
	}

	// §10.3 step 4 and §22: authenticate.
	if res := r.authenticate(req, hs.authorization, to.Address.User); res != nil {
		return res
	}

	hexp, err := headerExpires(hs.expires)
	if err != nil {
		return r.reply(req, sip.StatusBadRequest, "Bad Request (Expires)")
	}
	contacts, wildcard, err := parseContacts(hs.contacts, hexp, int(r.o.DefaultExpires/time.Second))
	if err != nil {
		return r.reply(req, sip.StatusBadRequest, "Bad Request ("+err.Error()+")")
	}
	// §10.3 step 7: an interval shorter than the minimum is refused with 423.
	minSecs := int(r.o.MinExpires / time.Second)
	for i := range contacts {
		c := &contacts[i]
		if c.expires > 0 && c.expires < minSecs {
			res := r.reply(req, sip.StatusIntervalToBrief, "Interval Too Brief")
			res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(minSecs)))
			return res
		}
		if maxSecs := int(r.o.MaxExpires / time.Second); c.expires > maxSecs {
			c.expires = maxSecs
		}
	}
	return r.update(ctx, req, &hs, aor, contacts, wildcard)
}

// servedDomain maps the Request-URI and To hosts to a served domain. An IP
// literal (phones configured with the gateway's address as their domain)
// maps to the first domain.
func (r *Registrar) servedDomain(ruriHost, toHost string) (string, bool) {
	h := strings.ToLower(toHost)
	if r.domains[h] {
		return h, true
	}
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		rh := strings.ToLower(ruriHost)
		if r.domains[rh] {
			return rh, true
		}
		return strings.ToLower(r.o.Domains[0]), true
	}
	return "", false
}

// supportedTags are the option tags the registrar implements.
var supportedTags = map[string]bool{"path": true, "outbound": true}

func unsupported(require []sip.Header) string {
	var bad []string
	for tag := range tags(require) {
		if !supportedTags[tag] {
			bad = append(bad, tag)
		}
	}
	return strings.Join(bad, ", ")
}

// authenticate returns nil when req carries valid credentials for user, or
// the response to send. Unknown users and wrong passwords get the same 401,
// after the same amount of hashing (RFC 3261 §22.3, DESIGN "bad input").
func (r *Registrar) authenticate(req *sip.Request, h sip.Header, user string) *sip.Response {
	if h != nil && !isDigest(h) {
		// Credentials of a scheme we do not know are no credentials: the
		// client gets the Digest challenge (RFC 3261 §22.1, RFC 4475
		// §3.3.7), not 400.
		h = nil
	}
	name, outcome := r.auth.Check(req, h)
	switch outcome {
	case sipauth.OK:
	case sipauth.Missing, sipauth.Stale:
		r.count(func(s *Stats) { s.Challenged++ })
		if outcome == sipauth.Missing {
			r.auth.Unknown(req, user) // scanners enumerating users (sipguard.Probe)
		}
		return r.challenge(req, outcome == sipauth.Stale)
	case sipauth.Malformed:
		r.count(func(s *Stats) { s.Rejected++ })
		return r.reply(req, sip.StatusBadRequest, "Bad Request (Authorization)")
	default:
		r.count(func(s *Stats) { s.AuthFailed++ })
		return r.challenge(req, false)
	}
	// §10.3 step 3: the authenticated user may only register its own AOR.
	if name != user {
		r.count(func(s *Stats) { s.Rejected++ })
		return r.reply(req, sip.StatusForbidden, "Forbidden")
	}
	return nil
}

// probed tells the guard (sipguard.Probe) that req asked for an AOR we do
// not serve, when the source cannot be forged (a stream): many such names
// from one source are a scanner.
func (r *Registrar) probed(req *sip.Request, name string) {
	if p, ok := r.o.Observer.(sipauth.Prober); ok && sipauth.Stream(req) {
		if ip := sipauth.SourceIP(req); ip.IsValid() {
			p.Probe(ip, name)
		}
	}
}

func (r *Registrar) challenge(req *sip.Request, stale bool) *sip.Response {
	res := r.reply(req, sip.StatusUnauthorized, "Unauthorized")
	for _, c := range r.auth.Challenges(req, stale) {
		res.AppendHeader(sip.NewHeader("WWW-Authenticate", c))
	}
	return res
}

// reply builds a response to req with our Server header (RFC 3261 §8.2.6).
func (r *Registrar) reply(req *sip.Request, code int, reason string) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	if r.o.ServerName != "" {
		res.AppendHeader(sip.NewHeader("Server", r.o.ServerName))
	}
	return res
}
