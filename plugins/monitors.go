package plugins

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// The host's monitor list and what it knows of each device: a lamp is
// never lost silently. A device the driver (or its PBX) refuses for a
// reason that may pass (a licence shortage, a PBX link down, a timeout) is
// retried with backoff; one it says does not exist is reported as failed
// with the PBX's reason and retried rarely (MonitorRetryMax). Status shows
// every device's state ([Supervisor.MonitorStates]).

// MonitorState is where one device on the host's monitor list stands.
type MonitorState string

// The monitor states.
const (
	// MonitorActive: the running driver monitors the device.
	MonitorActive MonitorState = "monitored"
	// MonitorPending: the driver is down; the device is monitored when
	// the next process starts.
	MonitorPending MonitorState = "pending"
	// MonitorRetrying: the driver refused or did not answer for a reason
	// that may pass; the host tries again at NextRetry.
	MonitorRetrying MonitorState = "retrying"
	// MonitorFailed: the driver says the device cannot be monitored (no
	// such device, invalid): Reason says why; the host still tries again
	// every MonitorRetryMax.
	MonitorFailed MonitorState = "failed"
)

// MonitorStatus is one device on the host's monitor list.
type MonitorStatus struct {
	Device    string       `json:"device"`
	State     MonitorState `json:"state"`
	MonitorID string       `json:"monitor_id,omitempty"`
	// Reason is the driver's (the PBX's) last refusal.
	Reason string `json:"reason,omitempty"`
	// Attempts counts the failed attempts since the device was last
	// monitored.
	Attempts  int       `json:"attempts,omitempty"`
	NextRetry time.Time `json:"next_retry,omitzero"`
}

// mon is the host's record of one device. Guarded by Supervisor.mu.
type mon struct {
	id       string
	state    MonitorState
	reason   string
	attempts int
	next     time.Time
	busy     bool // a retry is in flight
}

// MonitorStates returns every device on the host's monitor list with its
// state, sorted by device.
func (s *Supervisor) MonitorStates() []MonitorStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]MonitorStatus, 0, len(s.monitors))
	for d, m := range s.monitors {
		out = append(out, MonitorStatus{Device: d, State: m.state, MonitorID: m.id, Reason: m.reason,
			Attempts: m.attempts, NextRetry: m.next})
	}
	slices.SortFunc(out, func(a, b MonitorStatus) int {
		if a.Device < b.Device {
			return -1
		}
		if a.Device > b.Device {
			return 1
		}
		return 0
	})
	return out
}

// permanent reports whether a MonitorStart error means the device cannot
// be monitored (rather than not now).
func permanent(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidArgument) || errors.Is(err, ErrNotSupported) ||
		errors.Is(err, ErrIncompatible)
}

// refusedLocked records a failed attempt at m: retried with backoff and
// jitter, or failed (retried every MonitorRetryMax) when permanent. Called
// with s.mu held.
func (s *Supervisor) refusedLocked(m *mon, err error) {
	m.id, m.reason, m.busy = "", err.Error(), false
	m.attempts++
	if permanent(err) {
		m.state, m.next = MonitorFailed, time.Now().Add(jitter(s.cfg.MonitorRetryMax))
		return
	}
	d := s.cfg.MonitorRetryMin
	for i := 1; i < m.attempts && d < s.cfg.MonitorRetryMax; i++ {
		d *= 2
	}
	m.state, m.next = MonitorRetrying, time.Now().Add(jitter(min(d, s.cfg.MonitorRetryMax)))
}

// notTriedLocked records that m's monitor was not started for a reason of
// the host's or the process's (the restore ran out of time before it, the
// driver process went away): it is due again at once and the attempt is
// not counted (no backoff). Called with s.mu held.
func (m *mon) notTriedLocked(err error) {
	m.id, m.reason, m.busy = "", err.Error(), false
	m.state, m.next = MonitorRetrying, time.Now()
}

// activeLocked records that the driver monitors m as id. Called with s.mu
// held.
func (m *mon) activeLocked(id string) {
	m.id, m.state, m.reason, m.attempts, m.next, m.busy = id, MonitorActive, "", 0, time.Time{}, false
}

// jitter spreads d by ±20%, so that devices refused together (a licence
// shortage, a PBX restart) do not all come back in the same instant.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d*4/5 + rand.N(d*2/5+1)
}

// retry runs for one incarnation: it starts the monitors whose retry is
// due, paced and RestoreParallelism at a time, and asks serve (on
// inc.resync) for the snapshot of every device that started.
func (s *Supervisor) retry(ctx context.Context, inc *incarnation) {
	tick := time.NewTicker(min(max(s.cfg.MonitorRetryMin/4, 10*time.Millisecond), 250*time.Millisecond))
	defer tick.Stop()
	sem := make(chan struct{}, s.cfg.RestoreParallelism)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		var due []string
		s.mu.Lock()
		for d, m := range s.monitors {
			if (m.state == MonitorRetrying || m.state == MonitorFailed) && !m.busy && !now.Before(m.next) {
				m.busy = true
				due = append(due, d)
			}
		}
		s.mu.Unlock()
		for _, dev := range due {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				s.unbusy(due)
				return
			}
			if s.pace.wait(ctx) != nil {
				<-sem
				s.unbusy(due)
				return
			}
			wg.Go(func() {
				defer func() { <-sem }()
				s.retryOne(ctx, inc, dev)
			})
		}
	}
}

// unbusy clears the in-flight mark of devs that were not tried.
func (s *Supervisor) unbusy(devs []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range devs {
		if m := s.monitors[d]; m != nil && m.state != MonitorActive {
			m.busy = false
		}
	}
}

func (s *Supervisor) retryOne(ctx context.Context, inc *incarnation, dev string) {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	id, err := inc.drv.MonitorStart(cctx, dev)
	cancel()
	if ctx.Err() != nil || (err != nil && inc.client.Exited()) {
		s.unbusy([]string{dev}) // the process went away: the next one restores it
		return
	}
	s.mu.Lock()
	m := s.monitors[dev]
	if m == nil { // stopped meanwhile
		s.mu.Unlock()
		return
	}
	if err != nil {
		s.refusedLocked(m, err)
		s.mu.Unlock()
		s.retries.Add(1)
		s.cfg.Logger.Warn("monitor retry failed", "driver", s.cfg.Name, "device", dev, "attempts", m.attempts, "error", err)
		return
	}
	m.activeLocked(id)
	s.mu.Unlock()
	s.retries.Add(1)
	select {
	case inc.resync <- []string{dev}:
	case <-ctx.Done():
	}
}

// pacer spaces out MonitorStart calls to the driver (Config.RestoreRate),
// allowing a burst of one second's worth.
type pacer struct {
	mu    sync.Mutex
	every time.Duration // 0: unpaced
	next  time.Time
}

func newPacer(perSecond int) *pacer {
	if perSecond <= 0 {
		return &pacer{}
	}
	return &pacer{every: time.Second / time.Duration(perSecond)}
}

// wait returns when the next call may go, or ctx's error.
func (p *pacer) wait(ctx context.Context) error {
	if p.every == 0 {
		return ctx.Err()
	}
	p.mu.Lock()
	now := time.Now()
	t := p.next
	if floor := now.Add(-time.Second); t.Before(floor) {
		t = floor
	}
	p.next = t.Add(p.every)
	p.mu.Unlock()
	if d := t.Sub(now); d > 0 {
		tm := time.NewTimer(d)
		defer tm.Stop()
		select {
		case <-tm.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
