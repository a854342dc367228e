//go:build unix

package plugins_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// run starts s and stops it when the test ends, checking that Run returns
// and closes the event channel.
func run(t *testing.T, s *plugins.Supervisor) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(15 * time.Second):
				err = errors.New("Run did not return after cancel")
			}
			for range s.Events() { // drained and closed
			}
		})
		return err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return stop
}

// next returns the next event, failing the test after timeout.
func next(t *testing.T, s *plugins.Supervisor, timeout time.Duration) plugins.Event {
	t.Helper()
	select {
	case ev, ok := <-s.Events():
		if !ok {
			t.Fatal("event channel closed")
		}
		return ev
	case <-time.After(timeout):
		t.Fatalf("no event within %v", timeout)
	}
	return plugins.Event{}
}

// until reads events until one of type typ and returns all it read.
func until(t *testing.T, s *plugins.Supervisor, typ plugins.EventType, timeout time.Duration) []plugins.Event {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var got []plugins.Event
	for {
		ev := next(t, s, time.Until(deadline))
		got = append(got, ev)
		if ev.Type == typ {
			return got
		}
	}
}

func kinds(evs []plugins.Event) string {
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "%s:%s ", e.Device, e.Type)
	}
	return strings.TrimSpace(b.String())
}

func waitGone(t *testing.T, pid int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for alive(pid) {
		if time.Since(start) > within {
			t.Fatalf("process %d still alive after %v", pid, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// goroutinesSettle waits for the goroutine count to come back to base.
func goroutinesSettle(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d, started with %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSupervisorEndToEnd(t *testing.T) {
	plugins.WarmUp() // the spawn thread lives for the process; count after it
	base := runtime.NumGoroutine()
	s, err := plugins.NewSupervisor(exampleConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, s)
	ctx := t.Context()

	if ev := next(t, s, 20*time.Second); ev.Type != plugins.EventLinkUp || ev.Incarnation != 1 {
		t.Fatalf("first event: %+v", ev)
	}
	devices := []string{"1001", "1002", "1003"}
	for _, d := range devices {
		if id, err := s.MonitorStart(ctx, d); err != nil || id != "m-"+d {
			t.Fatalf("monitor %s: %q %v", d, id, err)
		}
	}
	caps, err := s.Capabilities(ctx)
	if err != nil || caps.Vendor != "acme" || !caps.Supports(plugins.ServiceMakeCall) || caps.Supports(plugins.ServiceTransfer) {
		t.Fatalf("capabilities: %+v %v", caps, err)
	}
	if _, err := s.Transfer(ctx, plugins.ConnectionRef{}, plugins.ConnectionRef{}); !errors.Is(err, plugins.ErrNotSupported) {
		t.Errorf("transfer: %v", err)
	}

	call := func(inc uint64) {
		t.Helper()
		c, err := s.MakeCall(ctx, plugins.MakeCallRequest{Calling: "1001", Called: "1002"})
		if err != nil {
			t.Fatal(err)
		}
		var got []plugins.Event
		for len(got) < 5 {
			got = append(got, next(t, s, 5*time.Second))
		}
		want := "1001:originated 1001:delivered 1002:delivered 1001:established 1002:established"
		if k := kinds(got); k != want {
			t.Fatalf("events: %s\nwant %s", k, want)
		}
		for i, ev := range got {
			if ev.CallID != c.CallID || ev.MonitorID != "m-"+ev.Device || ev.Driver != "example" || ev.Incarnation != inc ||
				ev.Time.IsZero() || ev.Received.IsZero() || (i > 0 && ev.Seq != got[i-1].Seq+1) {
				t.Errorf("event %d: %+v", i, ev)
			}
		}
		if got[2].State != plugins.StateAlerting || got[4].State != plugins.StateConnected {
			t.Errorf("states: %v %v", got[2].State, got[4].State)
		}
	}
	call(1)

	// kill -9: LINK_DOWN, LINK_UP, fresh snapshots, and events flow again.
	pid := s.PID()
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	evs := until(t, s, plugins.EventLinkUp, 10*time.Second)
	restored := time.Since(killed)
	if len(evs) != 2 || evs[0].Type != plugins.EventLinkDown || evs[0].Cause != plugins.CauseDriverFailure {
		t.Fatalf("after kill: %s (%+v)", kinds(evs), evs)
	}
	if up := evs[1]; up.Incarnation != 2 || s.PID() == pid || s.PID() == 0 {
		t.Fatalf("link up: %+v pid %d→%d", up, pid, s.PID())
	}
	// One fresh snapshot per device, in any order: the restore runs
	// the devices in parallel.
	snapped := map[string]bool{}
	for range devices {
		ev := next(t, s, 5*time.Second)
		if ev.Type != plugins.EventSnapshot || !slices.Contains(devices, ev.Device) || snapped[ev.Device] ||
			ev.Snapshot == nil || len(ev.Snapshot.Calls) != 0 {
			t.Fatalf("snapshot after the restart: %+v (had %v)", ev, snapped)
		}
		snapped[ev.Device] = true
	}
	t.Logf("kill -9 → LINK_UP with %d monitors restored: %v (supervisor: %v)", len(devices), restored, s.Stats().LastRestore)
	call(2)
	if st := s.Stats(); st.Restarts != 1 || st.Gaps != 0 {
		t.Errorf("stats: %+v", st)
	}
	if got := s.Monitors(); len(got) != 3 {
		t.Errorf("monitors: %v", got)
	}

	// Clean stop: the driver exits, nothing is left running.
	pid = s.PID()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid, 5*time.Second)
	if _, err := s.MakeCall(ctx, plugins.MakeCallRequest{Calling: "1", Called: "2"}); !errors.Is(err, plugins.ErrUnavailable) {
		t.Errorf("call after stop: %v", err)
	}
	goroutinesSettle(t, base)
}

func TestHangingCallDoesNotBlockOthers(t *testing.T) {
	cfg := exampleConfig(t)
	cfg.Name, cfg.Path, cfg.SHA256 = "testpbx", "", ""
	cfg.Command = func(name string) *exec.Cmd { return exec.Command(os.Args[0], "driver", name) } // like Bundled
	cfg.CallTimeout = time.Second                                                                 // a call that answers takes far less, even at load 30
	s, err := plugins.NewSupervisor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	if ev := next(t, s, 20*time.Second); ev.Type != plugins.EventLinkUp {
		t.Fatalf("first event: %+v", ev)
	}
	ctx := t.Context()
	var wg sync.WaitGroup
	for range 3 { // three calls stuck in the driver at once
		wg.Go(func() {
			start := time.Now()
			err := s.Hold(ctx, plugins.ConnectionRef{Device: "hang", CallID: "c1"})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("hold on a hung driver call: %v", err)
			}
			if el := time.Since(start); el > 5*time.Second { // bounded by CallTimeout, not hung
				t.Errorf("hold returned after %v", el)
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	for i := range 20 { // meanwhile other calls go on
		if _, err := s.MakeCall(ctx, plugins.MakeCallRequest{Calling: "1001", Called: fmt.Sprint(2000 + i)}); err != nil {
			t.Fatalf("make call during hang: %v", err)
		}
	}
	wg.Wait()
	if _, err := s.Snapshot(ctx, "1001"); err != nil {
		t.Fatalf("snapshot after hang: %v", err)
	}
	time.Sleep(3 * cfg.HealthInterval)
	if st := s.Stats(); st.Restarts != 0 {
		t.Errorf("a hung call restarted the driver: %+v", st)
	}
}

func TestHungDriverRestarted(t *testing.T) {
	cfg := exampleConfig(t)
	cfg.HealthInterval, cfg.HealthTimeout, cfg.HealthFailures = 100*time.Millisecond, 100*time.Millisecond, 2
	s, err := plugins.NewSupervisor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	if ev := next(t, s, 20*time.Second); ev.Type != plugins.EventLinkUp {
		t.Fatalf("first event: %+v", ev)
	}
	if _, err := s.MonitorStart(t.Context(), "1001"); err != nil {
		t.Fatal(err)
	}
	pid := s.PID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil { // frozen: alive but silent
		t.Fatal(err)
	}
	start := time.Now()
	evs := until(t, s, plugins.EventLinkUp, 10*time.Second)
	if evs[0].Type != plugins.EventLinkDown || !strings.Contains(evs[0].RawCause, "hung") {
		t.Fatalf("after SIGSTOP: %s %q", kinds(evs), evs[0].RawCause)
	}
	if ev := next(t, s, 5*time.Second); ev.Type != plugins.EventSnapshot || ev.Device != "1001" {
		t.Fatalf("snapshot: %+v", ev)
	}
	t.Logf("hung driver detected and replaced in %v", time.Since(start))
	waitGone(t, pid, 5*time.Second)
}

func TestWrongChecksumRefused(t *testing.T) {
	cfg := exampleConfig(t)
	cfg.SHA256 = strings.Repeat("ab", 32)
	s, err := plugins.NewSupervisor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.Run(ctx); !errors.Is(err, plugins.ErrChecksum) {
		t.Fatalf("run: %v", err)
	}
	if _, ok := <-s.Events(); ok {
		t.Error("events not closed")
	}

	for _, bad := range []plugins.Config{
		{Name: "x", Path: exampleBin},                // no checksum
		{Name: "x", Path: exampleBin, SHA256: "abc"}, // not a SHA-256
		{Name: "Bad Name"},
	} {
		if _, err := plugins.NewSupervisor(bad); err == nil {
			t.Errorf("config %+v accepted", bad)
		}
	}
}

func TestOrphanedDriverExits(t *testing.T) {
	for _, mode := range []string{"pdeathsig", "no-pdeathsig"} {
		t.Run(mode, func(t *testing.T) {
			host := exec.Command(os.Args[0], "-test.run=^$")
			host.Env = append(os.Environ(), "SWITCHBOARD_TEST_HOST="+mode, "SWITCHBOARD_TEST_EXAMPLE="+exampleBin)
			out, err := host.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := host.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = host.Process.Kill(); _ = host.Wait() }()
			var pid int
			if _, err := fmt.Fscan(out, &pid); err != nil || pid <= 0 {
				t.Fatalf("driver pid from host: %d %v", pid, err)
			}
			if !alive(pid) {
				t.Fatalf("driver %d not running", pid)
			}
			_ = host.Process.Kill() // kill -9 the host
			_ = host.Wait()
			t.Logf("driver exited %v after its host was killed", waitGone(t, pid, 5*time.Second))
		})
	}
}

func TestRestoreTime1000(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	cfg := exampleConfig(nil) // no per-line logging: it would dominate the figure
	s, err := plugins.NewSupervisor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	run(t, s)
	if ev := next(t, s, 20*time.Second); ev.Type != plugins.EventLinkUp {
		t.Fatalf("first event: %+v", ev)
	}
	const n = 1000
	ctx := t.Context()
	for i := range n {
		if _, err := s.MonitorStart(ctx, fmt.Sprint(10000+i)); err != nil {
			t.Fatal(err)
		}
	}
	killed := time.Now()
	if err := syscall.Kill(s.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	until(t, s, plugins.EventLinkUp, 20*time.Second)
	up := time.Since(killed)
	for i := range n {
		if ev := next(t, s, 10*time.Second); ev.Type != plugins.EventSnapshot {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	snaps := time.Since(killed)
	if _, err := s.MakeCall(ctx, plugins.MakeCallRequest{Calling: "10000", Called: "10001"}); err != nil {
		t.Fatal(err)
	}
	next(t, s, 5*time.Second)
	flowing := time.Since(killed)
	t.Logf("%d devices: kill -9 → LINK_UP (all monitors restarted and snapshotted) %v; → all %d snapshots read %v; → first new event %v (supervisor measured %v from loss)",
		n, up.Round(time.Millisecond), n, snaps.Round(time.Millisecond), flowing.Round(time.Millisecond), s.Stats().LastRestore.Round(time.Millisecond))
}

func TestHostRunsEveryDriver(t *testing.T) {
	a := exampleConfig(t)
	b := exampleConfig(t)
	b.Name = "testpbx"
	b.Path, b.SHA256 = "", ""
	b.Command = func(name string) *exec.Cmd { return exec.Command(os.Args[0], "driver", name) }
	if _, err := plugins.NewHost(a, a); err == nil {
		t.Error("duplicate driver names accepted")
	}
	h, err := plugins.NewHost(a, b)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	for _, name := range h.Names() {
		s, _ := h.Driver(name)
		if ev := next(t, s, 20*time.Second); ev.Type != plugins.EventLinkUp || ev.Driver != name {
			t.Errorf("%s: %+v", name, ev)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("host did not stop")
	}
}
