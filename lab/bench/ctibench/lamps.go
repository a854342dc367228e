package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
)

// Phase 3 (issue 13, "every lamp correct within 5 s of the link coming
// back, for 5,000 devices"): -lamps devices monitored, some of them in
// calls (connected and ringing), then three disruptions, each measured
// until every device's fresh snapshot reached the consumer, and each
// checked lamp by lamp against the simulator's own calls:
//   - kill -9 of the driver process (kill → last snapshot);
//   - the PBX dropping the link (the driver's LINK_UP → last snapshot,
//     and drop → last snapshot);
//   - the switch losing events and saying SystemStatus messagesLost
//     (SystemStatus → last snapshot).
//
// Then -chaos: random link drops, kill -9s, licence shortages (refused
// MonitorStarts), slow answers (timed-out MonitorStarts) and lost events
// for the given time under a call load; at the end every device must be
// monitored at the simulator or reported by the host (0 silently
// unmonitored), and every lamp must match the simulator.

// Lamps is phase 3's result for one driver.
type Lamps struct {
	Driver         string
	Devices, Calls int
	// KillToLast: kill -9 → every snapshot read; DropToLast and
	// UpToLast: the PBX link drop (and the driver's LINK_UP after it) →
	// every snapshot read.
	KillToLast, DropToLast, UpToLast time.Duration
	// The forced sequence gap (GapKind): events of Affected devices lost
	// on their way, then the loss made visible to the driver (CSTA
	// SystemStatus messagesLost, Xsi the next event's sequenceNumber).
	// GapToLast: that moment → every affected device's fresh snapshot
	// read and its lamp equal to the simulator's; GapToAll: → every
	// device's fresh snapshot read (drivers that resync everything).
	GapKind             string
	Affected            int
	GapToLast, GapToAll time.Duration
	// KillToStart: kill -9 → the new driver process answered Start (its
	// PBX link up, nothing monitored yet); KillToHostUp: → the host's
	// LINK_UP (every monitor restored and snapshotted, the snapshots not
	// yet sent on).
	KillToStart, KillToHostUp time.Duration
	// KillCPU: the CPU (user + system) the new driver process used from
	// its start until every snapshot was read (start-up and restoring
	// every device); DropCPU: the driver's CPU from the link drop until
	// every snapshot was read. Zero where /proc is not readable.
	KillCPU, DropCPU time.Duration
	// Wrong counts lamps that differed from the simulator after each
	// phase (summed; by phase in WrongAfter: gap, kill -9, link drop);
	// Silent counts devices the host took as monitored that the
	// simulator did not monitor.
	Wrong, Silent int
	WrongAfter    [3]int
	// Chaos is what the chaos run did and left.
	Chaos Chaos
}

// view is the consumer's picture of the lamps: device → call → state.
type view struct {
	mu      sync.Mutex
	calls   map[string]map[string]string
	snapAt  map[string]time.Time // last snapshot read per device
	linkUps []time.Time          // the driver's own LINK_UPs (PBX link)
	hostUps []time.Time          // the host's LINK_UPs (a driver process up, its monitors restored)
}

func newView() *view {
	return &view{calls: map[string]map[string]string{}, snapAt: map[string]time.Time{}}
}

// traceEvents, when CTIBENCH_TRACE is set, prints every event the
// consumer reads to stderr (finding how a lamp went wrong).
var traceEvents = os.Getenv("CTIBENCH_TRACE") != ""

func (v *view) apply(ev plugins.Event) {
	if traceEvents {
		var snap string
		if ev.Snapshot != nil {
			snap = fmt.Sprintf(" snapshot stale=%v seq=%d calls=%v", ev.Snapshot.Stale, ev.Snapshot.Seq, ev.Snapshot.Calls)
		}
		fmt.Fprintf(os.Stderr, "trace %s inc=%d seq=%d %s dev=%s call=%s old=%s state=%s%s\n", ev.Received.Format("15:04:05.000000"),
			ev.Incarnation, ev.Seq, ev.Type, ev.Device, ev.CallID, ev.OldCallID, ev.State, snap)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case ev.Type == plugins.EventSnapshot && ev.Snapshot != nil:
		c := map[string]string{}
		for _, k := range ev.Snapshot.Calls {
			c[k.CallID] = k.State.String()
		}
		v.calls[ev.Device] = c
		if !ev.Snapshot.Stale { // a lamp is right only with the PBX link up
			v.snapAt[ev.Device] = ev.Received
		}
	case ev.Type == plugins.EventLinkUp && ev.Seq != 0:
		v.linkUps = append(v.linkUps, ev.Received)
	case ev.Type == plugins.EventLinkUp:
		v.hostUps = append(v.hostUps, ev.Received)
	case ev.Type == plugins.EventLinkDown && ev.Seq == 0: // the process died: its calls are unknown until restored
	case ev.CallID != "" && ev.Device != "" && ev.State != plugins.StateUnspecified:
		c := v.calls[ev.Device]
		if c == nil {
			c = map[string]string{}
			v.calls[ev.Device] = c
		}
		if ev.State == plugins.StateNull {
			delete(c, ev.CallID)
		} else {
			c[ev.CallID] = ev.State.String()
		}
		if ev.OldCallID != "" {
			delete(c, ev.OldCallID)
		}
	}
}

// allSnappedAfter returns the time the last of devs got a snapshot after t,
// or false while one has none.
func (v *view) allSnappedAfter(devs []string, t time.Time) (time.Time, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var last time.Time
	for _, d := range devs {
		at := v.snapAt[d]
		if !at.After(t) {
			return time.Time{}, false
		}
		if at.After(last) {
			last = at
		}
	}
	return last, true
}

func (v *view) linkUpAfter(t time.Time) (time.Time, bool) { return v.after(&v.linkUps, t) }

func (v *view) hostUpAfter(t time.Time) (time.Time, bool) { return v.after(&v.hostUps, t) }

func (v *view) after(ups *[]time.Time, t time.Time) (time.Time, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, u := range *ups {
		if u.After(t) {
			return u, true
		}
	}
	return time.Time{}, false
}

// wrong counts devices whose lamp differs from the simulator's calls.
func (v *view) wrong(r *rig, devs []string) int {
	n := 0
	var all map[string]map[string]string // the switch's truth in one pass, when it offers it
	if b, ok := r.pbx.(bulkCalls); ok {
		all = b.callsByDevice()
	}
	for _, d := range devs {
		want := all[d]
		if all == nil {
			want = r.pbx.calls(d)
		}
		v.mu.Lock()
		got := maps.Clone(v.calls[d])
		v.mu.Unlock()
		if !maps.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
			n++
			if os.Getenv("CTIBENCH_DEBUG") != "" {
				fmt.Fprintf(os.Stderr, "lamp %s: host %v, simulator %v\n", d, got, want)
			}
		}
	}
	return n
}

// waitAll waits until every device has a snapshot read after t.
func waitAll(ctx context.Context, v *view, devs []string, t time.Time, within time.Duration) (time.Time, error) {
	deadline := time.Now().Add(within)
	for {
		if last, ok := v.allSnappedAfter(devs, t); ok {
			return last, nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("not every device snapshotted within %s", within)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func lamps(ctx context.Context, o Options, driver string) (Lamps, error) {
	devs := devices(o.Lamps, 70000)
	r, err := newRig(ctx, o, driver, devs, 1<<16)
	if err != nil {
		return Lamps{Driver: driver}, err
	}
	v := newView()
	consumed := make(chan struct{})
	linkUp := make(chan error, 1)
	go func() {
		defer close(consumed)
		linkUp <- waitLinkUp(ctx, r.sup.Events())
		for ev := range r.sup.Events() {
			v.apply(ev)
		}
	}()
	defer func() { r.close(); <-consumed }()
	res := Lamps{Driver: driver, Devices: len(devs), GapKind: r.pbx.gapKind()}
	if err := <-linkUp; err != nil {
		return res, err
	}
	if err := r.monitor(ctx, devs); err != nil {
		return res, err
	}
	// Calls: pairs connected, and some ringing.
	for i := 0; i+1 < len(devs) && res.Calls < 300; i += 2 {
		ref, err := r.sup.MakeCall(ctx, plugins.MakeCallRequest{Calling: devs[i], Called: devs[i+1]})
		if err != nil {
			return res, fmt.Errorf("make call: %w", err)
		}
		if i%4 == 0 {
			if err := r.sup.Answer(ctx, plugins.ConnectionRef{Device: devs[i+1], CallID: ref.CallID}); err != nil {
				return res, fmt.Errorf("answer: %w", err)
			}
		}
		res.Calls++
	}
	time.Sleep(300 * time.Millisecond)

	// A forced sequence gap (first: after a restore an Xsi driver starts
	// counting each subscription's sequenceNumbers afresh, so a gap in
	// the first event after it is not one it can see): the switch loses
	// the events of the ringing calls' answers (the callees' lamps would
	// stay alerting), then the driver learns of the loss.
	var affected []string
	for i := 2; i+1 < len(devs) && i < 2*res.Calls; i += 4 {
		affected = append(affected, devs[i+1])
	}
	res.Affected = len(affected)
	r.pbx.lose(affected, true)
	for _, d := range affected {
		for id := range r.pbx.calls(d) {
			if err := r.sup.Answer(ctx, plugins.ConnectionRef{Device: d, CallID: id}); err != nil {
				r.pbx.lose(nil, false)
				return res, fmt.Errorf("gap: answer: %w", err)
			}
		}
	}
	r.pbx.lose(affected, false)
	revealed := time.Now()
	if err := r.pbx.reveal(ctx, r.sup, affected); err != nil {
		return res, fmt.Errorf("gap: %w", err)
	}
	last, err := waitAll(ctx, v, affected, revealed, 3*time.Minute)
	if err != nil {
		return res, fmt.Errorf("gap: %w", err)
	}
	right, err := waitRight(ctx, v, r, affected, 3*time.Minute)
	if err != nil {
		return res, fmt.Errorf("gap: %w", err)
	}
	if right.After(last) {
		last = right
	}
	res.GapToLast = last.Sub(revealed)
	if r.pbx.resyncsAll() {
		last, err = waitAll(ctx, v, devs, revealed, 3*time.Minute)
		if err != nil {
			return res, fmt.Errorf("gap, every device: %w", err)
		}
		res.GapToAll = last.Sub(revealed)
	}
	// The other devices' events of the reveal (the callers' side of a
	// Hold) may still be on their way: give them a moment.
	if _, err := waitRight(ctx, v, r, devs, 10*time.Second); err != nil {
		res.WrongAfter[0] = v.wrong(r, devs)
	}

	// kill -9 of the driver process.
	killed := time.Now()
	oldPID := r.sup.PID()
	if err := syscall.Kill(oldPID, syscall.SIGKILL); err != nil {
		return res, err
	}
	started := make(chan time.Time, 1)
	go func() { // the new process is up once it is the supervisor's
		for ctx.Err() == nil {
			if pid := r.sup.PID(); pid != 0 && pid != oldPID {
				started <- time.Now()
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		started <- time.Time{}
	}()
	last, err = waitAll(ctx, v, devs, killed, 60*time.Second)
	if err != nil {
		return res, fmt.Errorf("kill -9: %w", err)
	}
	res.KillToLast = last.Sub(killed)
	res.KillCPU = procCPU(r.sup.PID())
	res.KillToStart = (<-started).Sub(killed)
	if up, ok := v.hostUpAfter(killed); ok {
		res.KillToHostUp = up.Sub(killed)
	}
	res.WrongAfter[1] = v.wrong(r, devs)

	// The PBX drops the link.
	cpu0 := procCPU(r.sup.PID())
	dropped := time.Now()
	r.pbx.dropLinks()
	last, err = waitAll(ctx, v, devs, dropped, 60*time.Second)
	if err != nil {
		return res, fmt.Errorf("link drop: %w", err)
	}
	up, _ := v.linkUpAfter(dropped)
	res.DropToLast, res.UpToLast = last.Sub(dropped), last.Sub(up)
	if c := procCPU(r.sup.PID()); c > 0 && cpu0 > 0 {
		res.DropCPU = c - cpu0
	}
	res.WrongAfter[2] = v.wrong(r, devs)
	res.Wrong = res.WrongAfter[0] + res.WrongAfter[1] + res.WrongAfter[2]
	res.Silent, _, _, _ = silentDevices(r)

	if o.Chaos > 0 {
		res.Chaos, err = chaos(ctx, r, v, devs, o.Chaos)
	}
	return res, err
}

// waitRight waits until every lamp of devs equals the simulator's and
// returns when that was first seen.
func waitRight(ctx context.Context, v *view, r *rig, devs []string, within time.Duration) (time.Time, error) {
	deadline := time.Now().Add(within)
	for {
		if v.wrong(r, devs) == 0 {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%d lamps still differ from the simulator after %s", v.wrong(r, devs), within)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// orphans counts the simulator's monitors beyond one per device.
func orphans(r *rig) int {
	mons := r.pbx.monitors()
	n := 0
	for i := 1; i < len(mons); i++ {
		if mons[i] == mons[i-1] {
			n++
		}
	}
	return n
}

// runLamps runs phase 3 when o.Lamps is set, for each of o.Drivers one
// after the other, and prints each and then the figures side by side.
func runLamps(ctx context.Context, o Options) error {
	if o.Lamps <= 0 {
		return nil
	}
	if o.MWIRounds > 0 {
		return runMWI(ctx, o)
	}
	o.defaults()
	var all []Lamps
	var firstErr error
	for _, d := range o.Drivers {
		l, err := lamps(ctx, o, d)
		printLamps(o, l, err)
		all = append(all, l)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("%s: %w", d, err)
		}
	}
	if len(all) > 1 {
		out := o.Out
		fmt.Fprintf(out, "cti lamps side by side, %d devices (ms; gap: → every affected lamp right):\n", o.Lamps)
		fmt.Fprintf(out, "  %-6s %10s %10s %10s %10s %6s %6s\n", "driver", "kill -9", "link drop", "LINK_UP→", "gap", "wrong", "silent")
		for _, l := range all {
			fmt.Fprintf(out, "  %-6s %10.0f %10.0f %10.0f %10.0f %6d %6d\n", l.Driver, msf(l.KillToLast), msf(l.DropToLast),
				msf(l.UpToLast), msf(l.GapToLast), l.Wrong, l.Silent)
		}
	}
	return firstErr
}

// procCPU is process pid's CPU so far (user + system, /proc/PID/stat
// fields 14 and 15), 0 if unknown.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from after ")".
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on
// Linux for every architecture Go supports).
const clockTicks = 100

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// printLamps prints one driver's lamps phase (and Mitel's chaos run).
func printLamps(o Options, l Lamps, err error) {
	out := o.Out
	fmt.Fprintf(out, "cti lamps, %s, %d devices, %d calls up:\n", l.Driver, l.Devices, l.Calls)
	fmt.Fprintf(out, "  kill -9 of the driver → every snapshot read: %s (new process up %s, every monitor restored %s)\n",
		ms(l.KillToLast), ms(l.KillToStart), ms(l.KillToHostUp))
	fmt.Fprintf(out, "  PBX link drop → every snapshot read: %s (the driver's LINK_UP → every snapshot: %s)\n",
		ms(l.DropToLast), ms(l.UpToLast))
	if l.KillCPU > 0 && l.Devices > 0 {
		fmt.Fprintf(out, "  driver CPU per restored device: after kill -9 %.0f µs (new process, start-up included), after the link drop %.0f µs\n",
			float64(l.KillCPU.Microseconds())/float64(l.Devices), float64(l.DropCPU.Microseconds())/float64(l.Devices))
	}
	fmt.Fprintf(out, "  forced gap (%s), %d devices affected → every affected lamp right: %s", l.GapKind, l.Affected, ms(l.GapToLast))
	if l.GapToAll > 0 {
		fmt.Fprintf(out, ", every device snapshotted again: %s", ms(l.GapToAll))
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "  lamps differing from the simulator after the phases: %d; devices silently unmonitored: %d\n", l.Wrong, l.Silent)
	if l.Wrong != 0 {
		fmt.Fprintf(out, "  (after the gap %d, after kill -9 %d, after the link drop %d)\n", l.WrongAfter[0], l.WrongAfter[1], l.WrongAfter[2])
	}
	verdict := "MET"
	if worst := max(l.KillToLast, l.UpToLast, l.GapToLast); worst >= 5*time.Second || l.Wrong != 0 || l.Silent != 0 || err != nil {
		verdict = "NOT MET"
	}
	fmt.Fprintf(out, "  goal: every lamp correct within 5 s of the link coming back, %d devices: %s\n", l.Devices, verdict)
	if err != nil {
		fmt.Fprintf(out, "  failed: %v\n", err)
	}
	if o.Chaos > 0 && l.Chaos.Duration > 0 {
		printChaos(out, l.Driver, l.Chaos, err)
	}
}
