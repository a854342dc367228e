// Package trunkreg registers the gateway to trunks that want it
// (RFC 3261 §10.2): REGISTER with digest authentication (MD5 and SHA-256,
// RFC 7616/RFC 8760), refreshed half-way through the time the registrar
// granted (§10.2.4), retried with exponential backoff after a failure, sent
// to the trunk's targets in dnssrv's order (the next target when one fails:
// transport error, no response within the trunk's failover timeout, or a
// failover status such as 503), and removed (Expires: 0) on shutdown.
package trunkreg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-gw/switchboard/dnssrv"
)

// Errors callers test for.
var (
	// ErrRejected means the registrar refused the registration with a
	// final status that another target would not change (403, 404, a
	// second 401 ...). The registration is retried after the backoff.
	ErrRejected = errors.New("registration rejected")
	// ErrNoTargets means every target failed or none resolved.
	ErrNoTargets = errors.New("no target accepted the registration")
)

// Defaults.
const (
	DefaultExpires    = 600 * time.Second
	DefaultMinBackoff = 2 * time.Second
	DefaultMaxBackoff = 5 * time.Minute
	// unregisterTimeout bounds the REGISTER with Expires: 0 at shutdown.
	unregisterTimeout = 3 * time.Second
)

// Options configure one trunk registration.
type Options struct {
	// Trunk gives the targets, in order, and takes their outcomes.
	// Required.
	Trunk *dnssrv.Trunk
	// Client sends the REGISTERs: a sipgo client over the gateway's user
	// agent, so that they leave from the SIP listeners. Required.
	Client *sipgo.Client
	// User and Password are the credentials; User is also the user part
	// of the address-of-record. Required.
	User, Password string
	// Domain is the AOR and Request-URI host. Default: the target host.
	Domain string
	// Expires is the lifetime asked for. Default 600s.
	Expires time.Duration
	// Contact returns our Contact URI for a transport (udp, tcp, ...);
	// its user part is replaced by ContactUser. Required.
	Contact func(transport string) sip.Uri
	// ContactUser is the user part of the Contact. Default: User.
	ContactUser string
	// Listener, when set, names the UDP listener a REGISTER to a target
	// leaves from (the port the trunk knows, where it sends our calls:
	// RFC 3581 for a trunk that answers to the source port). Optional:
	// sipgo picks a socket.
	Listener func(transport string, remote netip.Addr) (sip.Addr, bool)
	// MinBackoff and MaxBackoff bound the wait before a retry; the wait
	// doubles after each failure in a row, with ±20% jitter. Defaults 2s
	// and 5m.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives state changes. Default: discard.
	Logger *slog.Logger
}

// State names the state of a registration.
type State string

// States.
const (
	Registering  State = "registering"
	Registered   State = "registered"
	Failed       State = "failed"
	Unregistered State = "unregistered"
)

// Status is a registration's state for the admin API.
type Status struct {
	Trunk      string    `json:"trunk"`
	AOR        string    `json:"aor"`
	State      State     `json:"state"`
	Target     string    `json:"target,omitempty"`  // where the binding is
	Contact    string    `json:"contact,omitempty"` // as registered
	Expires    time.Time `json:"expires,omitzero"`  // when the binding runs out
	Refresh    time.Time `json:"refresh,omitzero"`  // next REGISTER
	LastStatus int       `json:"last_status,omitempty"`
	LastError  string    `json:"last_error,omitempty"`
	Successes  uint64    `json:"successes"`
	Failures   uint64    `json:"failures"`
}

// Registration keeps one trunk registered while Run runs.
type Registration struct {
	o      Options
	callID string
	tag    string

	mu     sync.Mutex
	cseq   uint32
	status Status
	target *dnssrv.Target // holder of the current binding
	nc     uint32
}

// New checks o and returns a registration that is not running yet.
func New(o Options) (*Registration, error) {
	switch {
	case o.Trunk == nil:
		return nil, errors.New("trunkreg: no trunk")
	case o.Client == nil:
		return nil, errors.New("trunkreg: no sip client")
	case o.User == "":
		return nil, errors.New("trunkreg: no user")
	case o.Contact == nil:
		return nil, errors.New("trunkreg: no contact")
	}
	if o.Expires <= 0 {
		o.Expires = DefaultExpires
	}
	if o.ContactUser == "" {
		o.ContactUser = o.User
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = DefaultMinBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(DefaultMaxBackoff, o.MinBackoff)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Registration{
		o: o,
		// RFC 3261 §10.2.4: the same Call-ID for every REGISTER of one
		// boot, CSeq increasing.
		callID: sip.GenerateTagN(16) + "@switchboard",
		tag:    sip.GenerateTagN(10),
	}
	r.status = Status{Trunk: o.Trunk.Name(), AOR: o.User + "@" + r.domain(), State: Registering}
	return r, nil
}

// Status returns the current state.
func (r *Registration) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// Run registers, refreshes and retries until ctx ends, then removes the
// binding (Expires: 0) from the target that holds it.
func (r *Registration) Run(ctx context.Context) {
	fails := 0
	for {
		granted, err := r.register(ctx, r.o.Expires)
		var wait time.Duration
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			wait = r.backoff(fails)
			fails++
			r.o.Logger.Warn("trunk registration failed", "trunk", r.o.Trunk.Name(), "retry_in", wait.Round(time.Millisecond), "error", err)
		} else {
			if fails > 0 || r.Status().Successes == 1 {
				r.o.Logger.Info("trunk registered", "trunk", r.o.Trunk.Name(), "target", r.Status().Target, "expires", granted)
			}
			fails = 0
			// RFC 3261 §10.2.4: refresh before the binding runs out;
			// half-way leaves room for retries and failover.
			wait = max(granted/2, r.o.MinBackoff)
		}
		r.mu.Lock()
		r.status.Refresh = time.Now().Add(wait)
		r.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		if ctx.Err() != nil {
			break
		}
	}
	r.unregister()
}

// backoff is the wait after n+1 failures in a row.
func (r *Registration) backoff(n int) time.Duration {
	d := r.o.MinBackoff << min(n, 20)
	if d <= 0 || d > r.o.MaxBackoff {
		d = r.o.MaxBackoff
	}
	jitter := 0.8 + 0.4*rand.Float64() //nolint:gosec // jitter, not security
	return time.Duration(float64(d) * jitter)
}

// unregister removes the binding at its target, if any.
func (r *Registration) unregister() {
	r.mu.Lock()
	t := r.target
	registered := r.status.State == Registered
	r.mu.Unlock()
	if t == nil || !registered {
		r.setState(Unregistered, nil)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), unregisterTimeout)
	defer cancel()
	_, err := r.registerAt(ctx, *t, 0)
	r.setState(Unregistered, err)
	if err != nil {
		r.o.Logger.Warn("trunk unregister failed", "trunk", r.o.Trunk.Name(), "error", err)
		return
	}
	r.o.Logger.Info("trunk unregistered", "trunk", r.o.Trunk.Name(), "target", t.Key())
}

func (r *Registration) setState(s State, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.State = s
	if err != nil {
		r.status.LastError = err.Error()
	}
	if s == Unregistered {
		r.status.Expires, r.status.Refresh = time.Time{}, time.Time{}
	}
}

// register tries the trunk's targets in order and returns the granted
// lifetime.
func (r *Registration) register(ctx context.Context, expires time.Duration) (time.Duration, error) {
	tr := r.o.Trunk
	rctx, cancel := context.WithTimeout(ctx, tr.Options().Timeout)
	defer cancel()
	targets, err := tr.Targets(rctx)
	if err != nil || len(targets) == 0 {
		return 0, r.failed(fmt.Errorf("%w: trunk %s: %w", ErrNoTargets, tr.Name(), err), 0)
	}
	var errs []error
	for _, t := range targets {
		granted, err := r.registerAt(rctx, t, expires)
		if err == nil {
			r.mu.Lock()
			tt := t
			r.target = &tt
			r.status.State, r.status.Target, r.status.LastError = Registered, t.Key(), ""
			r.status.Expires = time.Now().Add(granted)
			r.status.Successes++
			r.mu.Unlock()
			return granted, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", t.Key(), err))
		if errors.Is(err, ErrRejected) || rctx.Err() != nil {
			break // the registrar said no: another target would too
		}
	}
	status := 0
	var se *dnssrv.StatusError
	if e := errors.Join(errs...); errors.As(e, &se) {
		status = se.Code
	}
	return 0, r.failed(fmt.Errorf("%w: trunk %s: %w", ErrNoTargets, tr.Name(), errors.Join(errs...)), status)
}

// failed records a failed attempt; the binding stays Registered until it
// runs out.
func (r *Registration) failed(err error, status int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.Failures++
	r.status.LastError = err.Error()
	if status != 0 {
		r.status.LastStatus = status
	}
	if r.status.State != Registered || time.Now().After(r.status.Expires) {
		r.status.State = Failed
	}
	return err
}

// domain is the AOR and Request-URI host: Options.Domain, else the host
// of the trunk's target (the domain, not the SRV target it resolved to;
// RFC 3261 §10.2).
func (r *Registration) domain() string {
	if r.o.Domain != "" {
		return r.o.Domain
	}
	if u, err := parseTargetHost(r.o.Trunk.Target()); err == nil {
		return u
	}
	return "invalid"
}

// parseTargetHost returns the host of a trunk target (sip:host;..,
// host:port or IP).
func parseTargetHost(target string) (string, error) {
	s := target
	if i := strings.Index(s, ":"); i >= 0 && (strings.HasPrefix(s, "sip:") || strings.HasPrefix(s, "sips:")) {
		s = s[i+1:]
	}
	if i := strings.IndexAny(s, ";?"); i >= 0 {
		s = s[:i]
	}
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]"); i > 0 {
			return s[1:i], nil
		}
	}
	if i := strings.LastIndex(s, ":"); i >= 0 && strings.Count(s, ":") == 1 {
		s = s[:i]
	}
	if s == "" {
		return "", errors.New("no host")
	}
	return s, nil
}

// registerAt sends REGISTER to one target, answering one digest challenge,
// and returns the granted lifetime. Outcomes go to the target's health.
func (r *Registration) registerAt(ctx context.Context, t dnssrv.Target, expires time.Duration) (time.Duration, error) {
	h := r.o.Trunk.Health()
	var authz string
	var authHeader string
	for round := 0; round < 3; round++ {
		req := r.request(t, expires, authHeader, authz)
		res, err := r.send(ctx, t, req)
		if err != nil {
			if ctx.Err() == nil {
				h.Failed(t, err)
			}
			return 0, err
		}
		switch code := res.StatusCode; {
		case code >= 200 && code < 300:
			h.Succeeded(t)
			r.mu.Lock()
			r.status.LastStatus = code
			if expires > 0 {
				r.status.Contact = req.Contact().Address.String()
			}
			r.mu.Unlock()
			return granted(res, req, expires), nil
		case code == 401 || code == 407:
			h.Succeeded(t) // alive
			name := "WWW-Authenticate"
			authHeader = "Authorization"
			if code == 407 {
				name, authHeader = "Proxy-Authenticate", "Proxy-Authorization"
			}
			var values []string
			for _, hv := range res.GetHeaders(name) {
				values = append(values, hv.Value())
			}
			ch, err := pickChallenge(values)
			if err != nil {
				return 0, fmt.Errorf("%w: %d with %w", ErrRejected, code, err)
			}
			if authz != "" && !ch.Stale {
				return 0, fmt.Errorf("%w: %d: credentials refused", ErrRejected, code)
			}
			r.mu.Lock()
			r.nc++
			nc := r.nc
			r.mu.Unlock()
			if authz, err = ch.Authorization(r.o.User, r.o.Password, "REGISTER", req.Recipient.String(), nc); err != nil {
				return 0, fmt.Errorf("%w: %w", ErrRejected, err)
			}
		case code == 423:
			// RFC 3261 §10.2.8: Interval Too Brief: ask again with at
			// least Min-Expires.
			h.Succeeded(t)
			mh := res.GetHeader("Min-Expires")
			n := 0
			if mh != nil {
				n, _ = strconv.Atoi(strings.TrimSpace(mh.Value()))
			}
			if n <= 0 || time.Duration(n)*time.Second <= expires {
				return 0, fmt.Errorf("%w: 423 without a usable Min-Expires", ErrRejected)
			}
			expires = time.Duration(n) * time.Second
		default:
			se := &dnssrv.StatusError{Code: code, Reason: res.Reason}
			if slices.Contains(r.o.Trunk.Options().FailoverCodes, code) {
				if code == 503 {
					h.Overloaded(t, retryAfter(res), se)
				} else {
					h.Failed(t, se)
				}
				return 0, se // next target
			}
			h.Succeeded(t)
			return 0, fmt.Errorf("%w: %w", ErrRejected, se)
		}
	}
	return 0, fmt.Errorf("%w: too many challenges", ErrRejected)
}

// request builds a REGISTER for t (RFC 3261 §10.2).
func (r *Registration) request(t dnssrv.Target, expires time.Duration, authHeader, authz string) *sip.Request {
	domain := r.domain()
	ruri := sip.Uri{Scheme: "sip", Host: domain}
	if t.Transport.Secure() {
		ruri.Scheme = "sips"
	}
	req := sip.NewRequest(sip.REGISTER, ruri)
	aor := sip.Uri{Scheme: ruri.Scheme, User: r.o.User, Host: domain}
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", r.tag)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	cid := sip.CallIDHeader(r.callID)
	req.AppendHeader(&cid)
	r.mu.Lock()
	r.cseq++
	cseq := r.cseq
	r.mu.Unlock()
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.REGISTER})
	contact := r.o.Contact(string(t.Transport))
	contact.User = r.o.ContactUser
	req.AppendHeader(&sip.ContactHeader{Address: contact})
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	if authz != "" {
		req.AppendHeader(sip.NewHeader(authHeader, authz))
	}
	req.SetDestination(t.HostPort())
	req.SetTransport(t.Transport.Network())
	if r.o.Listener != nil {
		if la, ok := r.o.Listener(t.Transport.Network(), t.Addr.Addr()); ok {
			req.Laddr = la
		}
	}
	return req
}

// send runs one client transaction and returns its final response. No
// response at all (not even 100 Trying) within the trunk's failover
// timeout is a failure, as dnssrv.Sender counts it.
func (r *Registration) send(ctx context.Context, t dnssrv.Target, req *sip.Request) (*sip.Response, error) {
	o := r.o.Trunk.Options()
	// No options: sipgo fills in Via and Max-Forwards (the rest is set).
	tx, err := r.o.Client.TransactionRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	timer := time.NewTimer(o.FailoverTimeout)
	defer timer.Stop()
	for {
		select {
		case res := <-tx.Responses():
			if res == nil {
				continue
			}
			if res.IsProvisional() {
				timer.Stop()
				continue
			}
			return res, nil
		case <-tx.Done():
			if err := tx.Err(); err != nil {
				return nil, err
			}
			return nil, errors.New("transaction ended without a response")
		case <-timer.C:
			return nil, fmt.Errorf("%w: %s in %s", dnssrv.ErrFailoverTimeout, t.Key(), o.FailoverTimeout)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// granted reads the lifetime the registrar gave our contact: its expires
// parameter in the 200 OK, else the Expires header, else what we asked
// (RFC 3261 §10.2.4).
func granted(res *sip.Response, req *sip.Request, asked time.Duration) time.Duration {
	ours := req.Contact().Address
	for _, h := range res.GetHeaders("Contact") {
		ch, ok := h.(*sip.ContactHeader)
		if !ok {
			continue
		}
		if ch.Address.User == ours.User && ch.Address.Host == ours.Host && ch.Address.Port == ours.Port {
			if v, ok := ch.Params.Get("expires"); ok {
				if n, err := strconv.Atoi(v); err == nil && n >= 0 {
					return time.Duration(n) * time.Second
				}
			}
		}
	}
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
	}
	return asked
}

// retryAfter reads Retry-After delta-seconds, 0 when absent.
func retryAfter(res *sip.Response) time.Duration {
	h := res.GetHeader("Retry-After")
	if h == nil {
		return 0
	}
	v := strings.TrimSpace(h.Value())
	if i := strings.IndexAny(v, " (;"); i >= 0 {
		v = v[:i]
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0
	}
	return min(time.Duration(n)*time.Second, 24*time.Hour)
}
