package relay

import (
	"sync"
	"sync/atomic"
	"time"
)

// Session relays one call's media between two sides, A and B. Make one with
// Relay.NewSession and end it with Close.
//
// Media timeout: after ArmTimeout (the B2BUA calls it when the call is
// answered, so that a long ringing phase is not a timeout), Timeout is closed
// when no RTP packet was accepted from either side for Config.MediaTimeout.
// While the session is on hold — the directions let media flow one way at
// most: a side said sendonly, recvonly or inactive, or c=0.0.0.0 (RFC 3264
// §8.4) — Config.HoldTimeout applies instead: a holding phone without music
// on hold sends nothing, and its peer sends nothing it may forward. Each
// SDP (SetRemote) restarts the clock, so a resume is not timed out for the
// silence of the hold.
type Session struct {
	relay *Relay
	a, b  Side
	io    sessionIO // the I/O engine's state (io_linux.go, io_goroutine.go)

	lastRTP atomic.Int64 // monotonic ns of the last RTP packet either way

	mu      sync.Mutex
	timer   *time.Timer
	ref     *timeoutRef // what timer holds (nil before ArmTimeout)
	timeout chan struct{}
	fired   bool
	closed  bool
}

// A is the side towards the caller (by convention; the relay does not care).
func (s *Session) A() *Side { return &s.a }

// B is the side towards the callee.
func (s *Session) B() *Side { return &s.b }

// Stats returns the counters of both sides: a is the A→B direction (what A's
// far end sent), b is B→A.
func (s *Session) Stats() (a, b Stats) { return s.a.Stats(), s.b.Stats() }

// Timeout is closed once when the media timeout fires. It is never closed if
// the timeout is disabled, not armed, or the session is closed first.
func (s *Session) Timeout() <-chan struct{} { return s.timeout }

// ArmTimeout starts media timeout detection; later calls do nothing. The
// clock starts now, not at the last packet.
func (s *Session) ArmTimeout() {
	d := s.relay.cfg.MediaTimeout
	if d < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.timer != nil {
		return
	}
	s.lastRTP.Store(monotonic())
	s.ref = &timeoutRef{}
	s.ref.s.Store(s)
	s.timer = time.AfterFunc(d, s.ref.fire)
}

// timeoutRef is what the media timeout timer holds instead of the session.
// The runtime keeps a stopped timer, and its function, in its timer heap
// until it cleans it up: when the timer comes to the head or the end of the
// heap, or a quarter of the heap is stopped timers. With a gateway's other
// timers about (transactions' 32 s timers), a stopped timer of 60 s was seen
// holding its ended session for seconds (TestEndedCallsAreReleased, 0.2-10
// s); a session without the reference is garbage at once. Close clears it.
type timeoutRef struct{ s atomic.Pointer[Session] }

func (r *timeoutRef) fire() {
	if s := r.s.Load(); s != nil {
		s.checkTimeout()
	}
}

// checkTimeout runs on the timer: it re-arms itself for the time left, so a
// busy session costs one timer event per MediaTimeout, not one per packet.
// It looks at the directions at least every MediaTimeout, so a hold or a
// resume changes the limit within that time.
func (s *Session) checkTimeout() {
	d := s.relay.cfg.MediaTimeout
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.fired {
		return
	}
	now := monotonic()
	limit := d
	if !s.a.flows() || !s.b.flows() {
		limit = s.relay.cfg.HoldTimeout // on hold (RFC 3264 §8.4)
		if limit < 0 {
			s.lastRTP.Store(now) // held calls are never timed out: the clock stands still
			s.timer.Reset(d)
			return
		}
	}
	idle := time.Duration(now - s.lastRTP.Load())
	if idle >= limit {
		s.fired = true
		close(s.timeout)
		return
	}
	s.timer.Reset(min(limit-idle, d))
}

// touch restarts the media clock: a new SDP (SetRemote) starts afresh.
func (s *Session) touch() { s.lastRTP.Store(monotonic()) }

// Close stops the session: stops reading its four sockets, closes them, waits
// until no packet of the session is being handled any more, and gives the
// ports back to the relay. It is safe to call more
// than once.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
		s.ref.s.Store(nil) // the stopped timer may stay in the runtime's heap a while
	}
	s.mu.Unlock()

	first := s.relay.stopIO(s)
	s.relay.release(s)
	return first
}
