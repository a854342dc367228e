package plugins

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// restore makes inc current and starts every monitor of the host's list on
// it, paced and RestoreParallelism at a time, taking a snapshot of each;
// then it emits LINK_UP and the snapshots. A device the driver refuses or
// that does not start within CallTimeout is not the end of the driver: it
// gets a MONITOR_ENDED event with the reason and is retried with backoff
// (see monitors.go). A device the restore did not get to before
// RestoreTimeout, or whose attempt failed because the driver process went
// away, was not refused: it gets its MONITOR_ENDED too, but is retried at
// once (paced, in the background while events flow) and the attempt is not
// counted, so that a long restore (5,000 devices on a slow machine) or
// kill -9s during restores do not push devices into MonitorRetryMax's
// backoff. restore fails only when ctx ends.
func (s *Supervisor) restore(ctx context.Context, inc *incarnation, lost time.Time) error {
	s.cur.Store(inc) // calls may flow while monitors are restored
	rctx, cancel := context.WithTimeout(ctx, s.cfg.RestoreTimeout)
	defer cancel()
	s.mu.Lock()
	devices := make([]string, 0, len(s.monitors))
	for d, m := range s.monitors {
		m.id, m.state, m.busy = "", MonitorPending, false
		devices = append(devices, d)
	}
	s.mu.Unlock()
	snaps := make([]*DeviceSnapshot, len(devices))
	failed := make([]error, len(devices))
	sem := make(chan struct{}, s.cfg.RestoreParallelism)
	var wg sync.WaitGroup
	var restored, unsnapped atomic.Int64
	notReached := func(dev string) error {
		return fmt.Errorf("monitor start %s: %w %s", dev, errNotReached, s.cfg.RestoreTimeout)
	}
	for i, dev := range devices {
		if s.pace.wait(rctx) != nil {
			failed[i] = notReached(dev)
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-rctx.Done():
			failed[i] = notReached(dev)
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			snap, err := s.restoreOne(rctx, inc, dev)
			switch {
			case err != nil && rctx.Err() != nil && ctx.Err() == nil && !permanent(err):
				failed[i] = fmt.Errorf("%w (%w)", notReached(dev), err) // cut short by the restore timeout
			case err == nil:
				snaps[i] = snap
				restored.Add(1)
				if snap == nil {
					unsnapped.Add(1)
				}
			case errors.Is(err, errMonitorStopped):
			default:
				failed[i] = err
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("driver %s: restore monitors: %w", s.cfg.Name, ctx.Err())
	}
	var refused int
	gone := inc.client.Exited() // its failures are the process's, not the devices'
	s.mu.Lock()
	for i, dev := range devices {
		if m := s.monitors[dev]; m != nil && failed[i] != nil {
			if gone || errors.Is(failed[i], errNotReached) {
				m.notTriedLocked(failed[i])
			} else {
				s.refusedLocked(m, failed[i])
			}
			refused++
		}
	}
	s.mu.Unlock()
	now := time.Now()
	up := Event{Type: EventLinkUp, Time: now, Received: now, Driver: s.cfg.Name, Incarnation: inc.n,
		RawCause: fmt.Sprintf("driver process %d started, %d of %d monitors restored, %d retrying",
			inc.proc.Pid, restored.Load(), len(devices), refused)}
	if !lost.IsZero() {
		s.lastRestore.Store(int64(now.Sub(lost)))
	}
	s.emit(ctx, up)
	inc.snapSeq = make(map[string]uint64, len(devices))
	for i, sn := range snaps { // 0 when there is none: every driver LINK_UP resyncs
		if sn != nil && (inc.restoreSeq == 0 || sn.Seq < inc.restoreSeq || i == 0) {
			inc.restoreSeq = sn.Seq
		}
	}
	for i, dev := range devices {
		ev := Event{Device: dev, Time: now, Received: now, Driver: s.cfg.Name, Incarnation: inc.n}
		switch {
		case snaps[i] != nil:
			ev.Type, ev.Snapshot, ev.MonitorID = EventSnapshot, snaps[i], s.monitorID(dev)
			inc.snapSeq[dev] = snaps[i].Seq
		case failed[i] != nil:
			ev.Type, ev.RawCause = EventMonitorEnded, failed[i].Error()
		default:
			if s.monitorID(dev) != "" {
				inc.unsnapped = append(inc.unsnapped, dev) // monitored, its snapshot failed: serve retakes it
			}
			continue
		}
		s.emit(ctx, ev)
	}
	inc.wg.Add(1)
	go func() {
		defer inc.wg.Done()
		s.retry(inc.ctx, inc)
	}()
	return nil
}

// errMonitorStopped: the host stopped a monitor while restoring it.
var errMonitorStopped = errors.New("monitor stopped")

// errNotReached: the restore ended (RestoreTimeout) before the device's
// monitor was started.
var errNotReached = errors.New("not reached within the restore timeout")

// restoreOne starts dev's monitor on inc and takes its snapshot (nil when
// the snapshot failed: the monitor stands).
func (s *Supervisor) restoreOne(ctx context.Context, inc *incarnation, dev string) (*DeviceSnapshot, error) {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	id, err := inc.drv.MonitorStart(cctx, dev)
	if err != nil {
		return nil, fmt.Errorf("monitor start %s: %w", dev, err)
	}
	s.mu.Lock()
	m := s.monitors[dev]
	if m != nil {
		m.activeLocked(id)
	}
	s.mu.Unlock()
	if m == nil {
		return nil, errMonitorStopped
	}
	snap, err := inc.drv.Snapshot(cctx, dev)
	if err != nil {
		s.cfg.Logger.Warn("restore snapshot failed", "driver", s.cfg.Name, "device", dev, "error", err)
		return nil, nil
	}
	return &snap, nil
}

func (s *Supervisor) monitorID(dev string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.monitors[dev]; m != nil {
		return m.id
	}
	return ""
}

// resyncer is serve's bookkeeping of fresh snapshots in progress: the
// devices waiting for one hold their events until it is sent on, so that
// the consumer sees the snapshot, then exactly the events it does not
// reflect.
type resyncer struct {
	held    map[string][]Event // device → its events since its resync was asked
	queue   []string           // asked while a round runs
	running bool
	results chan snapResult
	done    chan struct{}
}

type snapResult struct {
	dev  string
	snap DeviceSnapshot
	err  error
}

// ask queues a fresh snapshot of devs (every device on the list when devs
// is nil) and starts a round unless one runs.
func (s *Supervisor) ask(inc *incarnation, r *resyncer, devs []string) {
	if devs == nil {
		devs = s.Monitors()
	}
	for _, d := range devs {
		if _, waiting := r.held[d]; waiting {
			continue
		}
		r.held[d] = []Event{}
		r.queue = append(r.queue, d)
	}
	s.round(inc, r)
}

// round takes the queued snapshots on a goroutine of inc, unless a round
// runs already.
func (s *Supervisor) round(inc *incarnation, r *resyncer) {
	if r.running || len(r.queue) == 0 {
		return
	}
	batch := r.queue
	r.queue, r.running = nil, true
	inc.wg.Add(1)
	go func() {
		defer inc.wg.Done()
		sem := make(chan struct{}, s.cfg.RestoreParallelism)
		var wg sync.WaitGroup
		for _, dev := range batch {
			select {
			case sem <- struct{}{}:
			case <-inc.ctx.Done():
				wg.Wait()
				return
			}
			wg.Go(func() {
				defer func() { <-sem }()
				ctx, cancel := context.WithTimeout(inc.ctx, s.cfg.CallTimeout)
				snap, err := inc.drv.Snapshot(ctx, dev)
				cancel()
				select {
				case r.results <- snapResult{dev: dev, snap: snap, err: err}:
				case <-inc.ctx.Done():
				}
			})
		}
		wg.Wait()
		select {
		case r.done <- struct{}{}:
		case <-inc.ctx.Done():
		}
	}()
}

// deliver sends a fresh snapshot on, then the held events it does not
// reflect.
func (s *Supervisor) deliver(ctx context.Context, inc *incarnation, r *resyncer, res snapResult) {
	held := r.held[res.dev]
	delete(r.held, res.dev)
	seq := uint64(0)
	if res.err == nil {
		now := time.Now()
		snap := res.snap
		s.emit(ctx, Event{Type: EventSnapshot, Device: res.dev, MonitorID: s.monitorID(res.dev), Snapshot: &snap,
			Time: now, Received: now, Driver: s.cfg.Name, Incarnation: inc.n})
		s.resyncs.Add(1)
		seq = snap.Seq
		inc.snapSeq[res.dev] = seq
	} else {
		s.cfg.Logger.Warn("resync snapshot failed", "driver", s.cfg.Name, "device", res.dev, "error", res.err)
		s.mu.Lock()
		m := s.monitors[res.dev]
		if m != nil && m.state == MonitorActive && errors.Is(res.err, ErrNotFound) {
			// the driver lost the monitor: start it again
			s.refusedLocked(m, fmt.Errorf("driver no longer monitors it: %w", res.err))
		}
		again := m != nil && m.state == MonitorActive
		s.mu.Unlock()
		if again { // a slow or busy driver: ask again in a while
			time.AfterFunc(s.cfg.MonitorRetryMin, func() {
				select {
				case inc.resync <- []string{res.dev}:
				case <-inc.ctx.Done():
				}
			})
		}
	}
	for _, ev := range held {
		if ev.Seq > seq {
			s.emit(ctx, ev)
		}
	}
}

// serve forwards inc's events until ctx ends or inc fails, and says why it
// stopped. A gap in the sequence numbers, the driver's own LINK_UP (its PBX
// link is back) and a RESYNC event make it send fresh snapshots on (the
// driver.proto contract); so does a monitor that started on a retry.
func (s *Supervisor) serve(ctx context.Context, inc *incarnation) string {
	r := &resyncer{held: map[string][]Event{}, results: make(chan snapResult), done: make(chan struct{})}
	if len(inc.unsnapped) > 0 {
		s.ask(inc, r, inc.unsnapped)
	}
	var last uint64
	forward := func(ev Event) {
		gap := ev.Seq > last+1 // from 1 in every process
		if gap {
			s.gaps.Add(1)
			s.cfg.Logger.Warn("driver events lost: resync", "driver", s.cfg.Name, "from", last+1, "to", ev.Seq-1)
		}
		last = max(last, ev.Seq)
		if gap {
			s.ask(inc, r, nil)
		}
		switch {
		case ev.Type == EventResync:
			var devs []string
			if ev.Device != "" {
				devs = []string{ev.Device}
			}
			s.ask(inc, r, devs)
			return
		case ev.Type == EventMonitorEnded && ev.Device != "":
			s.mu.Lock()
			if m := s.monitors[ev.Device]; m != nil {
				s.refusedLocked(m, fmt.Errorf("driver ended the monitor: %s", ev.RawCause))
			}
			s.mu.Unlock()
		}
		if held, waiting := r.held[ev.Device]; waiting && ev.Device != "" {
			r.held[ev.Device] = append(held, ev)
			return
		}
		if seq, ok := inc.snapSeq[ev.Device]; ok && ev.Seq <= seq {
			return // already in the snapshot
		}
		s.emit(ctx, ev)
		if ev.Type == EventLinkUp && ev.Seq > inc.restoreSeq {
			// The driver's PBX link is back: unless every restore snapshot
			// was taken after it came up, take them again.
			s.ask(inc, r, nil)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return "host stopping"
		case why := <-inc.failed:
			return why
		case ev := <-inc.events:
			forward(ev)
		case devs := <-inc.resync:
			s.ask(inc, r, devs)
		case res := <-r.results:
			s.deliver(ctx, inc, r, res)
		case <-r.done:
			r.running = false
			s.round(inc, r)
		case <-inc.streamDone:
			for len(inc.events) > 0 { // the reader is gone: drain what it left
				forward(<-inc.events)
			}
			if inc.streamErr != nil {
				return "event stream: " + inc.streamErr.Error()
			}
			return "event stream ended"
		}
	}
}
