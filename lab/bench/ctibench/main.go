// Command ctibench measures the CTI path end to end (issue 6, make
// bench-cti): the MiVO400 simulator (lab/mitel, in this process) → the
// Mitel driver in its own process (this binary re-executed, as the gateway
// re-executes `switchboard driver mitel`) → go-plugin gRPC stream →
// plugins.Supervisor → a consumer in this process.
//
// Phase 1 monitors -devices devices (5,000) and drives an event storm:
// -workers goroutines make, answer and clear calls (nine events each) for
// -duration, once per rate of -rates. Event latency is the simulator's timestamp on each event
// (extensions/security/timestamp, taken when the switch emits it) to the
// consumer reading it; it is reported as p50/p99 with events/s. Rate 0:
// the workers go as fast as the path allows (saturation: latency is then
// mostly queueing); rate N paces N calls/s (~9N events/s).
//
// Phase 2 monitors -restore devices (1,000) under a call load and kills
// the driver process with SIGKILL: it reports the time until LINK_UP with
// every monitor restored and snapshotted, and until call events flow again.
//
// Phase 3 (lamps.go) runs for each driver of -driver (mitel, avaya,
// cisco: each against its own simulator, lab/mitel, lab/avaya, lab/cisco,
// through the same plugin host path; pbx.go): it monitors -lamps devices
// (5,000) with calls up and measures every lamp back after a forced
// sequence gap (CSTA: events lost, then SystemStatus messagesLost; Xsi:
// events skipped, so the next sequenceNumber shows the gap), kill -9 and
// a PBX link drop, each checked lamp by lamp against the simulator, and
// prints the drivers side by side; then, for each driver, -chaos (10m)
// of random faults from its simulator (chaos.go), ending with 0 devices
// silently unmonitored.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/avaya"
	"github.com/switchboard-gw/switchboard/drivers/cisco"
	"github.com/switchboard-gw/switchboard/drivers/mitel"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// driverEnv makes the re-executed binary serve the Mitel driver.
const driverEnv = "CTIBENCH_DRIVER"

// Options are one bench run.
type Options struct {
	Devices  int           // monitored in phase 1
	Workers  int           // concurrent callers
	Duration time.Duration // of the storm
	Rates    []int         // one storm per rate, calls/s; 0 = as fast as possible
	Restore  int           // monitors in the kill -9 phase, 0 = skip
	Lamps    int           // devices in the lamps phase (lamps.go), 0 = skip
	Chaos    time.Duration // of the chaos run after it, 0 = skip
	// RestoreParallelism and RestoreRate are the host's
	// (plugins.Config; 0: its defaults).
	RestoreParallelism, RestoreRate int
	// Drivers are the drivers of the lamps phase, run one after the
	// other and printed side by side (default: mitel).
	Drivers []string
	// CiscoScope is the Cisco driver's subscription scope: "group" or
	// "user" (default group).
	CiscoScope string
	// HealthTimeout is the host's bound on each health probe of the
	// driver (0: its default, 1 s). The -race smoke tests raise it: a
	// driver process ten times slower on a loaded machine is not hung.
	HealthTimeout time.Duration
	// CallTimeout, when set, is the host's bound on each call to every
	// driver (else callTimeout's).
	CallTimeout time.Duration
	// Command starts the driver process for a driver name (default:
	// this executable).
	Command func(driver string) *exec.Cmd
	Out     io.Writer
	// MWIRounds, when set, replaces the lamps phase and chaos with the
	// message-waiting query's share of the restore (mwi.go): rounds with
	// and without it, alternated.
	MWIRounds int
	skipMWI   bool // this rig's driver leaves the query out
}

// Storm is phase 1's result.
type Storm struct {
	Devices       int
	MonitorTime   time.Duration
	Calls         int64
	Events        int64
	Stamped       int
	Elapsed       time.Duration
	P50, P99, Max time.Duration
	// Segments: p99 of simulator → driver emitting (TCP, CSTA decode,
	// mapping), driver → host supervisor (SDK queue, gRPC stream), host
	// supervisor → consumer (the supervisor's ordered channels).
	ToDriver, ToHost, ToConsumer time.Duration
	Gaps                         uint64
	CallErrors                   int64
}

// Restore is phase 2's result.
type Restore struct {
	Monitors  int
	LinkUp    time.Duration // kill → LINK_UP (monitors restored, snapshots taken)
	Flowing   time.Duration // kill → first call event of the new process
	Snapshots int
}

func main() {
	if d := driverOf(os.Getenv(driverEnv)); d != nil {
		stop := startProfile("driver")
		time.AfterFunc(profileWindow, stop)
		sdk.Serve(d)
		return
	}
	var o Options
	flag.IntVar(&o.Devices, "devices", 5000, "devices monitored in the storm")
	flag.IntVar(&o.Workers, "workers", 50, "concurrent callers")
	flag.DurationVar(&o.Duration, "duration", 10*time.Second, "length of the storm")
	rates := flag.String("rates", "500,0", "one storm per rate, calls per second (0: as fast as possible; none: no storm)")
	flag.IntVar(&o.Restore, "restore", 1000, "monitors in the kill -9 phase (0: skip)")
	flag.IntVar(&o.Lamps, "lamps", 5000, "devices in the lamps phase: kill -9, PBX link drop, messagesLost (0: skip)")
	flag.DurationVar(&o.Chaos, "chaos", 10*time.Minute, "chaos run after the lamps phase (0: skip)")
	flag.IntVar(&o.RestoreParallelism, "restore-parallel", 0, "the host's restore parallelism (0: its default)")
	flag.IntVar(&o.RestoreRate, "restore-rate", 0, "the host's MonitorStart pacing per second in restores (0: its default, -1: unpaced)")
	drivers := flag.String("driver", "all", "the lamps phase's drivers, side by side: mitel, avaya, cisco, a comma list or all "+
		"(the storms and the kill -9 under load are Mitel's)")
	flag.DurationVar(&o.HealthTimeout, "health-timeout", 5*time.Second, "the host's bound on each health probe of a driver "+
		"(its default is 1 s: at load average 25 a Cisco driver resyncing 5,000 devices missed three and was restarted)")
	flag.IntVar(&o.MWIRounds, "mwi-ab", 0, "instead of the lamps phase: this many restores of -lamps devices with and without the "+
		"CSTA drivers' message-waiting query each, alternated, and its share of the restore time")
	flag.StringVar(&o.CiscoScope, "cisco-scope", "group", "Cisco subscriptions: group (one per event package) or user (one per user and package)")
	flag.Parse()
	if *drivers == "all" {
		o.Drivers = Drivers
	} else {
		for d := range strings.SplitSeq(*drivers, ",") {
			if !slices.Contains(Drivers, d) {
				fmt.Fprintf(os.Stderr, "ctibench: -driver: %q is not one of %v\n", d, Drivers)
				os.Exit(2)
			}
			o.Drivers = append(o.Drivers, d)
		}
	}
	if o.CiscoScope != "group" && o.CiscoScope != "user" {
		fmt.Fprintf(os.Stderr, "ctibench: -cisco-scope: %q is not group or user\n", o.CiscoScope)
		os.Exit(2)
	}
	for f := range strings.SplitSeq(*rates, ",") {
		if *rates == "none" {
			break
		}
		r, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || r < 0 {
			fmt.Fprintf(os.Stderr, "ctibench: -rates: %q is not a rate\n", f)
			os.Exit(2)
		}
		o.Rates = append(o.Rates, r)
	}
	o.Out = os.Stdout
	stop := startProfile("host")
	_, _, err := Run(context.Background(), o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctibench:", err)
		os.Exit(1)
	}
}

// selfCommand re-executes this binary as the driver.
func selfCommand(driver string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), driverEnv+"="+driver)
	return cmd
}

// driverOf is the driver a re-executed bench process serves, nil if it
// is the bench itself.
func driverOf(name string) sdk.Driver {
	switch name {
	case "mitel":
		return mitel.New()
	case "avaya":
		return avaya.New()
	case "cisco":
		return cisco.New()
	}
	return nil
}

// Run runs the storms and the kill -9 phase and prints the figures to
// o.Out.
func Run(ctx context.Context, o Options) ([]Storm, Restore, error) {
	o.defaults()
	o.Workers = max(o.Workers, 1)
	var storms []Storm
	for _, rate := range o.Rates {
		st, err := storm(ctx, o, rate)
		if err != nil {
			return storms, Restore{}, fmt.Errorf("storm: %w", err)
		}
		storms = append(storms, st)
		fmt.Fprintf(o.Out, "cti storm: %d monitors (started in %s), %d workers, %s, %s\n",
			st.Devices, st.MonitorTime.Round(time.Millisecond), o.Workers, rateText(rate), st.Elapsed.Round(time.Millisecond))
		fmt.Fprintf(o.Out, "  %d calls, %d events, %.0f events/s, %d failed requests, %d sequence gaps\n",
			st.Calls, st.Events, float64(st.Events)/st.Elapsed.Seconds(), st.CallErrors, st.Gaps)
		fmt.Fprintf(o.Out, "  latency simulator → host consumer (%d events): p50 %s  p99 %s  max %s\n",
			st.Stamped, ms(st.P50), ms(st.P99), ms(st.Max))
		fmt.Fprintf(o.Out, "  p99 by segment: simulator → driver %s, driver → host %s, host → consumer %s\n",
			ms(st.ToDriver), ms(st.ToHost), ms(st.ToConsumer))
		verdict := "MET"
		if st.P99 >= 20*time.Millisecond {
			verdict = "NOT MET"
		}
		fmt.Fprintf(o.Out, "  goal: p99 < 20 ms at 5,000 devices: %s (p99 %s)\n", verdict, ms(st.P99))
	}
	if o.Restore <= 0 {
		return storms, Restore{}, runLamps(ctx, o)
	}
	rs, err := restore(ctx, o)
	if err != nil {
		return storms, rs, fmt.Errorf("restore: %w", err)
	}
	fmt.Fprintf(o.Out, "cti kill -9 under load: %d monitors restored, LINK_UP after %s, call events again after %s\n",
		rs.Monitors, ms(rs.LinkUp), ms(rs.Flowing))
	verdict := "MET"
	if rs.LinkUp >= 2*time.Second {
		verdict = "NOT MET"
	}
	fmt.Fprintf(o.Out, "  goal: < 2 s for 1,000 devices: %s\n", verdict)
	return storms, rs, runLamps(ctx, o)
}

// defaults fills in what o leaves empty.
func (o *Options) defaults() {
	if o.Command == nil {
		o.Command = selfCommand
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if len(o.Drivers) == 0 {
		o.Drivers = []string{"mitel"}
	}
	if o.CiscoScope == "" {
		o.CiscoScope = "group"
	}
}

func rateText(r int) string {
	if r <= 0 {
		return "unpaced (as fast as the path goes)"
	}
	return fmt.Sprintf("paced at %d calls/s (~%d events/s)", r, 9*r)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

// rig is a simulator and a supervised driver process.
type rig struct {
	pbx    pbx
	mitel  *labmitel.Sim // the Mitel simulator itself when the driver is mitel
	sup    *plugins.Supervisor
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// newRig starts driver's simulator (knowing devs) and the driver
// process under a supervisor.
func newRig(ctx context.Context, o Options, driver string, devs []string, buffer int) (*rig, error) {
	sim, msim, err := newPBX(driver, devs, o)
	if err != nil {
		return nil, err
	}
	sup, err := plugins.NewSupervisor(plugins.Config{
		Name:               driver,
		Command:            func(string) *exec.Cmd { return o.Command(driver) },
		DriverConfig:       driverConfig(sim, o),
		BackoffMin:         10 * time.Millisecond,
		EventBuffer:        buffer,
		RestoreParallelism: o.RestoreParallelism,
		RestoreRate:        o.RestoreRate,
		CallTimeout:        cmp.Or(o.CallTimeout, callTimeout(driver)),
		HealthTimeout:      o.HealthTimeout,
		Logger:             benchLogger(),
	})
	if err != nil {
		_ = sim.close()
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	r := &rig{pbx: sim, mitel: msim, sup: sup, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- sup.Run(rctx) }()
	return r, nil
}

// driverConfig is sim's driver configuration, without the message-waiting
// query when o says so.
func driverConfig(sim pbx, o Options) []byte {
	if o.skipMWI {
		return withSkipMWI(sim.config())
	}
	return sim.config()
}

// benchLogger passes the supervisor's and the driver processes' logs to
// stderr when CTIBENCH_DEBUG is set (nil: discarded).
func benchLogger() *slog.Logger {
	if os.Getenv("CTIBENCH_DEBUG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// callTimeout is the host's bound on each call to driver: its default
// (5 s) for Mitel; 30 s for Avaya and Cisco, whose MonitorStart costs
// several PBX round trips (GetDeviceId; the Xsi services), so thousands
// queued at once would time out on a loaded machine and be retried,
// measuring the retry backoff instead of the restore.
func callTimeout(driver string) time.Duration {
	if driver == "mitel" {
		return 0
	}
	return 30 * time.Second
}

// close stops the driver (the consumer must still be draining) and the
// simulator.
func (r *rig) close() {
	r.once.Do(func() {
		r.cancel()
		<-r.done
		_ = r.pbx.close()
	})
}

// monitor starts monitors on n devices, 64 at a time. A start the
// driver could not carry (ErrUnavailable: its PBX link went down
// meanwhile, which a loaded machine's keepalive may decide) is asked
// again for up to 30 s, as an application would; other errors fail.
func (r *rig) monitor(ctx context.Context, devs []string) error {
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	var first atomic.Pointer[error]
	for _, d := range devs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			deadline := time.Now().Add(30 * time.Second)
			for {
				_, err := r.sup.MonitorStart(ctx, d)
				if err == nil {
					return
				}
				if !errors.Is(err, plugins.ErrUnavailable) || time.Now().After(deadline) || ctx.Err() != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
				time.Sleep(500 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	if p := first.Load(); p != nil {
		return *p
	}
	return nil
}

func devices(n, base int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(base + i)
	}
	return out
}

// load makes, answers and clears calls between pairs of devs from
// workers goroutines until ctx ends, paced at rate calls/s if rate > 0;
// calls under way then finish. It returns the number of calls and of
// failed requests.
func load(ctx context.Context, sup *plugins.Supervisor, devs []string, workers, rate int, report bool) (calls, errs int64) {
	var nc, ne atomic.Int64
	var once sync.Once
	fail := func(what string, err error) {
		ne.Add(1)
		if report {
			once.Do(func() { fmt.Fprintf(os.Stderr, "ctibench: first failed request: %s: %v\n", what, err) })
		}
	}
	work := make(chan int) // unbuffered: no backlog left when ctx ends
	var wg sync.WaitGroup
	rctx := context.WithoutCancel(ctx)
	for range workers {
		wg.Go(func() {
			ctx := rctx
			for i := range work {
				from, to := devs[(2*i)%len(devs)], devs[(2*i+1)%len(devs)]
				ref, err := sup.MakeCall(ctx, plugins.MakeCallRequest{Calling: from, Called: to})
				if err != nil {
					fail("make call", err)
					continue
				}
				if err := sup.Answer(ctx, plugins.ConnectionRef{Device: to, CallID: ref.CallID}); err != nil {
					fail("answer", err)
				}
				if err := sup.Clear(ctx, ref); err != nil {
					fail("clear", err)
				}
				nc.Add(1)
			}
		})
	}
	start := time.Now()
	for i := 0; ctx.Err() == nil; i++ {
		if rate > 0 {
			if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(d):
				}
			}
		}
		select {
		case work <- i:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	return nc.Load(), ne.Load()
}

// waitLinkUp reads events until the driver's own LINK_UP (its PBX link).
func waitLinkUp(ctx context.Context, events <-chan plugins.Event) error {
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				return errors.New("driver stopped")
			}
			if ev.Type == plugins.EventLinkUp && ev.Seq != 0 {
				return nil
			}
		case <-t.C:
			return errors.New("no link_up within 30s")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func storm(ctx context.Context, o Options, rate int) (Storm, error) {
	devs := devices(o.Devices, 10000)
	r, err := newRig(ctx, o, "mitel", devs, 0)
	if err != nil {
		return Storm{}, err
	}
	var measuring atomic.Bool
	var events atomic.Int64
	lat := make([]time.Duration, 0, 1<<20)
	var seg [3][]time.Duration
	consumed := make(chan struct{})
	linkUp := make(chan error, 1)
	go func() { // the host's consumer
		defer close(consumed)
		linkUp <- waitLinkUp(ctx, r.sup.Events())
		for ev := range r.sup.Events() {
			if !measuring.Load() {
				continue
			}
			now := time.Now()
			events.Add(1)
			if !ev.PBXTime.IsZero() {
				lat = append(lat, now.Sub(ev.PBXTime))
				seg[0] = append(seg[0], ev.Time.Sub(ev.PBXTime))
				seg[1] = append(seg[1], ev.Received.Sub(ev.Time))
				seg[2] = append(seg[2], now.Sub(ev.Received))
			}
		}
	}()
	defer func() { r.close(); <-consumed }()
	if err := <-linkUp; err != nil {
		return Storm{}, err
	}
	t0 := time.Now()
	if err := r.monitor(ctx, devs); err != nil {
		return Storm{}, err
	}
	s := Storm{Devices: o.Devices, MonitorTime: time.Since(t0)}

	lctx, stop := context.WithTimeout(ctx, o.Duration)
	defer stop()
	measuring.Store(true)
	t0 = time.Now()
	s.Calls, s.CallErrors = load(lctx, r.sup, devs, o.Workers, rate, true)
	// Let the last events of the last calls arrive: until none came for
	// 100ms (at most 3s).
	for range 30 {
		n := events.Load()
		time.Sleep(100 * time.Millisecond)
		if events.Load() == n {
			break
		}
	}
	measuring.Store(false)
	s.Elapsed = time.Since(t0)
	s.Events = events.Load()
	s.Gaps = r.sup.Stats().Gaps
	r.close()
	<-consumed
	slices.Sort(lat)
	s.Stamped = len(lat)
	if n := len(lat); n > 0 {
		s.P50, s.P99, s.Max = lat[n/2], lat[n*99/100], lat[n-1]
		p99 := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)*99/100] }
		s.ToDriver, s.ToHost, s.ToConsumer = p99(seg[0]), p99(seg[1]), p99(seg[2])
	}
	return s, nil
}

func restore(ctx context.Context, o Options) (Restore, error) {
	devs := devices(o.Restore, 50000)
	r, err := newRig(ctx, o, "mitel", devs, 0)
	if err != nil {
		return Restore{}, err
	}
	var killedAt atomic.Int64 // unix nanos
	type mark struct {
		linkUp, flowing time.Time
		snapshots       int
	}
	marks := make(chan mark, 1)
	consumed := make(chan struct{})
	linkUp := make(chan error, 1)
	go func() {
		defer close(consumed)
		linkUp <- waitLinkUp(ctx, r.sup.Events())
		var m mark
		sent := false
		for ev := range r.sup.Events() {
			if killedAt.Load() == 0 || sent {
				continue
			}
			switch {
			case ev.Type == plugins.EventLinkUp && ev.Seq == 0:
				m.linkUp = ev.Received
			case ev.Type == plugins.EventSnapshot:
				m.snapshots++
			case !m.linkUp.IsZero() && ev.Seq != 0 && ev.Incarnation > 1 && ev.CallID != "":
				m.flowing = time.Now()
				marks <- m
				sent = true
			}
		}
	}()
	defer func() { r.close(); <-consumed }()
	if err := <-linkUp; err != nil {
		return Restore{}, err
	}
	if err := r.monitor(ctx, devs); err != nil {
		return Restore{}, err
	}
	lctx, stop := context.WithCancel(ctx)
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); load(lctx, r.sup, devs, max(o.Workers/5, 1), 0, false) }()
	defer func() { stop(); <-loadDone }()
	time.Sleep(500 * time.Millisecond) // under load

	pid := r.sup.PID()
	if pid == 0 {
		return Restore{}, errors.New("driver not running")
	}
	killed := time.Now()
	killedAt.Store(killed.UnixNano())
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return Restore{}, err
	}
	var m mark
	select {
	case m = <-marks:
	case <-time.After(30 * time.Second):
		return Restore{}, errors.New("no call events within 30s of the kill")
	}
	rs := Restore{LinkUp: m.linkUp.Sub(killed), Flowing: m.flowing.Sub(killed), Snapshots: m.snapshots}
	rs.Monitors = len(r.pbx.monitors())
	if rs.Monitors != o.Restore || m.snapshots < o.Restore { // more: a resync after the driver's LINK_UP
		return rs, fmt.Errorf("after the kill: %d monitors on the simulator, %d snapshots, want %d",
			rs.Monitors, m.snapshots, o.Restore)
	}
	return rs, nil
}
