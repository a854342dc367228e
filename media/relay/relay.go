package relay

import (
	"errors"
	"fmt"
	"sync"
)

// Relay owns the port range and the sessions made from it.
type Relay struct {
	cfg   Config
	ports *portPool

	mu       sync.Mutex
	sessions map[*Session]struct{}
	closed   bool

	counters relayCounters // totals for metrics (counters.go)

	io relayIO // the I/O engine's state (io_linux.go, io_goroutine.go)
}

// New checks cfg (zero fields take their defaults, see Config) and returns a
// Relay. It opens nothing: sockets are opened by NewSession.
func New(cfg Config) (*Relay, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Relay{
		cfg:      cfg,
		ports:    newPortPool(cfg.PortMin, cfg.PortMax),
		sessions: make(map[*Session]struct{}),
	}, nil
}

// Config returns the configuration in use, defaults filled in.
func (r *Relay) Config() Config { return r.cfg }

// Capacity is the number of sessions the port range holds (two pairs each).
func (r *Relay) Capacity() int { return r.ports.size() / 2 }

// Len is the number of open sessions.
func (r *Relay) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sessions)
}

// NewSession binds two even/odd port pairs on Config.ListenIP and starts
// relaying between them. It returns ErrPortsExhausted when the range has no
// pair left that can be bound, ErrClosed after Close.
func (r *Relay) NewSession() (*Session, error) {
	return r.NewSessionOn(Endpoint{}, Endpoint{})
}

// NewSessionOn is NewSession with each side on its own endpoint: side A's
// sockets bound on a.Bind, B's on b.Bind (zero: Config.ListenIP), so that
// the two far ends may be on different networks or address families. The
// port range is shared by every address: a port pair is used on one
// address at a time.
func (r *Relay) NewSessionOn(a, b Endpoint) (*Session, error) {
	var err error
	if a, err = r.endpoint(a); err != nil {
		return nil, err
	}
	if b, err = r.endpoint(b); err != nil {
		return nil, err
	}
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	s := &Session{relay: r, timeout: make(chan struct{})}
	s.a = Side{name: "A", sess: s, peer: &s.b, ep: a}
	s.b = Side{name: "B", sess: s, peer: &s.a, ep: b}
	if err := r.bind(&s.a); err != nil {
		return nil, err
	}
	if err := r.bind(&s.b); err != nil {
		r.unbind(&s.a)
		return nil, err
	}
	s.a.updateDst()
	s.b.updateDst()

	// The I/O starts before the session is listed, so Relay.Close never
	// finds a session whose I/O is half set up.
	if err := r.startIO(s); err != nil {
		r.unbind(&s.a)
		r.unbind(&s.b)
		return nil, err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = r.stopIO(s)
		r.unbind(&s.a)
		r.unbind(&s.b)
		return nil, ErrClosed
	}
	r.sessions[s] = struct{}{}
	r.mu.Unlock()
	return s, nil
}

// bind gives side a port pair and its two sockets. Pairs that cannot be
// bound (another program holds a port) go back to the pool after the search,
// so the next search tries them again.
func (r *Relay) bind(side *Side) error {
	var failed []int
	defer func() {
		for _, p := range failed {
			r.ports.put(p)
		}
	}()
	bindIP := side.ep.Bind
	take := func(force bool) bool {
		port, rtp, rtcp, ok := r.reuse(bindIP, force)
		if ok {
			rtp.side, rtcp.side, rtcp.isRTCP = side, side, true
			side.port, side.rtpSock, side.rtcp = port, rtp, rtcp
		}
		return ok
	}
	if take(false) {
		return nil
	}
	var lastErr error
	for range r.ports.size() {
		port, ok := r.ports.get()
		if !ok {
			break
		}
		rtp, err := r.listen(bindIP, port)
		if err != nil {
			failed, lastErr = append(failed, port), err
			continue
		}
		rtcp, err := r.listen(bindIP, port+1)
		if err != nil {
			_ = rtp.close()
			failed, lastErr = append(failed, port), err
			continue
		}
		rtp.side, rtcp.side, rtcp.isRTCP = side, side, true
		side.port, side.rtpSock, side.rtcp = port, rtp, rtcp
		return nil
	}
	if take(true) { // every other pair is in use: a resting one it is
		return nil
	}
	if port, ok := r.evictIdle(); ok { // one resting on another address
		// the port stays handed out: it goes from the ended session's
		// resting sockets to the new ones
		if rtp, err := r.listen(bindIP, port); err == nil {
			if rtcp, err := r.listen(bindIP, port+1); err == nil {
				rtp.side, rtcp.side, rtcp.isRTCP = side, side, true
				side.port, side.rtpSock, side.rtcp = port, rtp, rtcp
				return nil
			}
			_ = rtp.close()
		}
		failed = append(failed, port)
	}
	if lastErr != nil {
		return fmt.Errorf("%w (last bind error: %v)", ErrPortsExhausted, lastErr)
	}
	return ErrPortsExhausted
}

// endpoint fills in e's defaults and checks it.
func (r *Relay) endpoint(e Endpoint) (Endpoint, error) {
	if !e.Bind.IsValid() {
		e.Bind = r.cfg.ListenIP
	}
	if e.Bind.Is4In6() {
		e.Bind = e.Bind.Unmap() // an IPv4 socket, keyed as such (reuse_linux.go)
	}
	if e.Advertise.IsValid() && e.Advertise.Unmap().Is4() != e.Bind.Unmap().Is4() {
		return e, fmt.Errorf("%w: endpoint %v advertised as %v: not the same address family", ErrInvalidConfig, e.Bind, e.Advertise)
	}
	return e, nil
}

func (r *Relay) unbind(side *Side) {
	_ = side.rtpSock.close()
	_ = side.rtcp.close()
	r.ports.put(side.port)
}

// release is called by Session.Close once its sockets are no longer read.
func (r *Relay) release(s *Session) {
	r.retire(&s.a)
	r.retire(&s.b)
	r.mu.Lock()
	delete(r.sessions, s)
	r.mu.Unlock()
}

// Close closes every session and refuses new ones.
func (r *Relay) Close() error {
	r.mu.Lock()
	r.closed = true
	all := make([]*Session, 0, len(r.sessions))
	for s := range r.sessions {
		all = append(all, s)
	}
	r.mu.Unlock()
	var errs []error
	for _, s := range all {
		errs = append(errs, s.Close())
	}
	r.dropIdle()
	return errors.Join(errs...)
}
