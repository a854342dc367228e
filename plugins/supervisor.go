package plugins

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// Supervisor runs one driver process and keeps it running: it starts it,
// health-checks it, kills and restarts it with backoff when it dies or
// hangs, and restores its monitors from its own list. Consumers read one
// ordered channel ([Supervisor.Events]) that shows the driver's events and,
// around each restart, EventLinkDown then EventLinkUp and one EventSnapshot
// per monitored device. Calls never hang: each is bounded by
// Config.CallTimeout, and calls while the driver is down fail at once with
// [ErrUnavailable].
type Supervisor struct {
	cfg Config
	sum []byte
	out chan Event

	running atomic.Bool
	cur     atomic.Pointer[incarnation] // nil while down

	pace *pacer // MonitorStart calls of restores and retries

	mu       sync.Mutex
	monitors map[string]*mon // the host's monitor list

	refused     atomic.Pointer[error] // why Run gave up for good
	restarts    atomic.Uint64
	lastRestore atomic.Int64 // nanoseconds from loss to LINK_UP
	gaps        atomic.Uint64
	retries     atomic.Uint64
	resyncs     atomic.Uint64
}

// incarnation is one driver process.
type incarnation struct {
	n       uint64
	client  *plugin.Client
	proc    *os.Process
	drv     Driver
	caps    Capabilities
	started time.Time

	events     chan Event        // read from the driver's stream
	streamDone chan struct{}     // closed when the stream reader returns
	streamErr  error             // valid after streamDone
	failed     chan string       // a health-check verdict
	alive      *atomic.Int64     // unix ns of the driver's last answer or event (health.go)
	snapSeq    map[string]uint64 // device → Seq of its last snapshot sent on
	ctx        context.Context   // ends when inc is stopped
	resync     chan []string     // devices whose snapshot serve is to send on
	unsnapped  []string          // monitored by restore without a snapshot
	restoreSeq uint64            // the lowest Seq of the restore snapshots (max: none)
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// Stats are a supervisor's counters.
type Stats struct {
	// Restarts counts start attempts after the first.
	Restarts uint64
	// LastRestore is the time from losing the driver to the LINK_UP of the
	// process that replaced it, monitors restored.
	LastRestore time.Duration
	// Gaps counts holes in the driver's sequence numbers (lost events).
	Gaps uint64
	// MonitorRetries counts MonitorStart retries (refused or timed-out
	// monitors tried again); Resyncs counts snapshots sent on after a
	// gap, a driver's LINK_UP or RESYNC, or a retried monitor.
	MonitorRetries uint64
	Resyncs        uint64
}

// NewSupervisor checks cfg and returns a supervisor; [Supervisor.Run]
// starts it.
func NewSupervisor(cfg Config) (*Supervisor, error) {
	cfg, sum, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Supervisor{cfg: cfg, sum: sum, out: make(chan Event, cfg.EventBuffer), monitors: map[string]*mon{},
		pace: newPacer(cfg.RestoreRate)}, nil
}

// Name returns the driver's name.
func (s *Supervisor) Name() string { return s.cfg.Name }

// Events returns the driver's single ordered event channel. It is closed
// when Run returns.
func (s *Supervisor) Events() <-chan Event { return s.out }

// Up reports whether a driver process is running and answering calls (it
// becomes true while monitors are being restored, just before LINK_UP).
func (s *Supervisor) Up() bool { return s.cur.Load() != nil }

// PID returns the process id of the running driver, 0 while it is down.
func (s *Supervisor) PID() int {
	if inc := s.cur.Load(); inc != nil && inc.proc != nil {
		return inc.proc.Pid
	}
	return 0
}

// Refused returns the error Run gave up with for good (a checksum
// mismatch, a driver whose PBX is incompatible), nil while it supervises.
func (s *Supervisor) Refused() error {
	if p := s.refused.Load(); p != nil {
		return *p
	}
	return nil
}

// Stats returns the supervisor's counters.
func (s *Supervisor) Stats() Stats {
	return Stats{Restarts: s.restarts.Load(), LastRestore: time.Duration(s.lastRestore.Load()), Gaps: s.gaps.Load(),
		MonitorRetries: s.retries.Load(), Resyncs: s.resyncs.Load()}
}

// Monitors returns the devices the host monitors on this driver, sorted.
func (s *Supervisor) Monitors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.monitors))
	for d := range s.monitors {
		out = append(out, d)
	}
	slices.Sort(out)
	return out
}

// Run starts the driver and supervises it until ctx ends, then stops it and
// closes the event channel. It returns nil after ctx ends, or an error that
// restarting cannot cure ([ErrChecksum], or a driver whose Start fails
// with [ErrIncompatible]). Run may be called once.
func (s *Supervisor) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return fmt.Errorf("driver %s: supervisor already ran", s.cfg.Name)
	}
	defer close(s.out)
	log := s.cfg.Logger.With("driver", s.cfg.Name)
	backoff := s.cfg.BackoffMin
	var lost time.Time
	for n := uint64(1); ; n++ {
		if n > 1 {
			s.restarts.Add(1)
		}
		inc, err := s.launch(ctx, n)
		if err == nil {
			err = s.restore(ctx, inc, lost)
			if err != nil {
				s.cur.Store(nil)
				s.stop(inc, true)
			}
		}
		if errors.Is(err, ErrChecksum) || errors.Is(err, ErrIncompatible) {
			log.Error("driver refused, not restarted", "error", err)
			s.refused.Store(&err)
			return err
		}
		if err == nil {
			reason := s.serve(ctx, inc)
			s.cur.Store(nil)
			s.stop(inc, ctx.Err() == nil)
			if ctx.Err() != nil {
				return nil
			}
			lost = time.Now()
			log.Warn("driver lost", "reason", reason, "pid", inc.proc.Pid)
			s.emit(ctx, Event{Type: EventLinkDown, Cause: CauseDriverFailure, RawCause: reason,
				Time: lost, Received: lost, Driver: s.cfg.Name, Incarnation: inc.n})
			if time.Since(inc.started) >= s.cfg.StableAfter {
				backoff = s.cfg.BackoffMin
			}
		} else if ctx.Err() == nil {
			log.Error("driver start failed", "error", err, "retry_in", backoff)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, s.cfg.BackoffMax)
	}
}

// launch starts process n, hands it its config and opens its event stream.
func (s *Supervisor) launch(ctx context.Context, n uint64) (*incarnation, error) {
	cmd := s.cfg.Command(s.cfg.Name)
	setParentDeathSignal(cmd)
	var secure *plugin.SecureConfig
	if s.sum != nil {
		secure = &plugin.SecureConfig{Checksum: s.sum, Hash: sha256.New()}
	}
	alive := new(atomic.Int64) // health.go: the driver's last sign of life
	client := plugin.NewClient(&plugin.ClientConfig{
		GRPCDialOptions:  []grpc.DialOption{grpc.WithChainUnaryInterceptor(answered(alive))},
		HandshakeConfig:  Handshake,
		Plugins:          PluginMap,
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		SecureConfig:     secure,
		StartTimeout:     s.cfg.StartTimeout,
		Logger:           newHCLogger(s.cfg.Logger, s.cfg.Name),
	})
	var rpc plugin.ClientProtocol
	var err error
	onSpawnThread(func() { rpc, err = client.Client() })
	if err != nil {
		client.Kill()
		if errors.Is(err, plugin.ErrChecksumsDoNotMatch) {
			return nil, fmt.Errorf("driver %s: %s: %w", s.cfg.Name, cmd.Path, ErrChecksum)
		}
		return nil, fmt.Errorf("driver %s: start %s: %w", s.cfg.Name, cmd.Path, err)
	}
	raw, err := rpc.Dispense(PluginName)
	if err != nil {
		client.Kill()
		return nil, fmt.Errorf("driver %s: dispense: %w", s.cfg.Name, err)
	}
	incCtx, cancel := context.WithCancel(context.Background())
	inc := &incarnation{n: n, client: client, proc: cmd.Process, drv: raw.(Driver), started: time.Now(), alive: alive,
		ctx: incCtx, events: make(chan Event, 1024), streamDone: make(chan struct{}), failed: make(chan string, 1), cancel: cancel,
		resync: make(chan []string)}

	sctx, scancel := context.WithTimeout(ctx, s.cfg.StartTimeout)
	defer scancel()
	if err = inc.drv.Start(sctx, StartRequest{Driver: s.cfg.Name, Config: s.cfg.DriverConfig}); err == nil {
		inc.caps, err = inc.drv.Capabilities(sctx)
	}
	if err != nil {
		s.stop(inc, true)
		return nil, fmt.Errorf("driver %s: start: %w", s.cfg.Name, err)
	}

	inc.wg.Add(2)
	go func() { // the event stream, read into inc.events
		defer inc.wg.Done()
		defer close(inc.streamDone)
		inc.streamErr = inc.drv.Events(incCtx, func(ev Event) error {
			ev.Driver, ev.Incarnation, ev.Received = s.cfg.Name, n, time.Now()
			alive.Store(ev.Received.UnixNano())
			select {
			case inc.events <- ev:
				return nil
			case <-incCtx.Done():
				return incCtx.Err()
			}
		})
	}()
	go func() { // the health check
		defer inc.wg.Done()
		s.health(incCtx, inc)
	}()
	return inc, nil
}

// health probes the driver until ctx ends and reports on inc.failed when
// the process exited or HealthFailures probes in a row failed.
func (s *Supervisor) health(ctx context.Context, inc *incarnation) {
	t := time.NewTicker(s.cfg.HealthInterval)
	defer t.Stop()
	fails := 0
	verdict := func(why string) {
		select {
		case inc.failed <- why:
		default:
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if inc.client.Exited() {
			verdict("driver process exited")
			return
		}
		hctx, cancel := context.WithTimeout(ctx, s.cfg.HealthTimeout)
		_, err := inc.drv.Capabilities(hctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err == nil || busy(inc, 2*s.cfg.HealthInterval+s.cfg.HealthTimeout) {
			fails = 0
			continue
		}
		if fails++; fails >= s.cfg.HealthFailures {
			verdict(fmt.Sprintf("driver hung: %d health checks failed, last: %v", fails, err))
			return
		}
	}
}

// emit hands ev to the consumer, waiting for room unless ctx ends.
func (s *Supervisor) emit(ctx context.Context, ev Event) {
	select {
	case s.out <- ev:
	case <-ctx.Done():
	}
}

// stop ends inc: at once (SIGKILL) when it failed, else gracefully with a
// bounded wait. It returns when the process and inc's goroutines are gone.
func (s *Supervisor) stop(inc *incarnation, failed bool) {
	inc.cancel()
	if failed && inc.proc != nil {
		_ = inc.proc.Kill()
	}
	done := make(chan struct{})
	go func() { inc.client.Kill(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		if inc.proc != nil {
			_ = inc.proc.Kill()
		}
		<-done
	}
	inc.wg.Wait()
}
