package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	labavaya "github.com/switchboard-gw/switchboard/lab/avaya"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/lab/ctisim/cstaxml"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
)

// The chaos run (issue 13: "0 devices silently unmonitored after a chaos
// run (random link drops, refusals and timeouts from the simulators for
// 10 minutes), checked against the simulators' own state"): for -chaos,
// under a call load, every 0.3–1.5 s one fault drawn at random from the
// driver's simulator's own fault injection (faults below) or a kill -9 of
// the driver process; then every fault is healed and the run waits for
// every device to be monitored at the simulator (or reported by the host
// with a reason) and every lamp to equal the simulator's calls, and
// counts the monitors the simulator holds beyond one per device.

// fault is one kind of disruption a simulator can inject.
type fault struct {
	kind string
	// inject starts the fault; a spell (a slow or absent PBX) lasts a
	// while and ends before inject returns, so the next fault comes after.
	inject func(rng *rand.Rand)
}

// Chaos is the chaos run's record.
type Chaos struct {
	Duration time.Duration
	// Faults counts the faults injected by kind (faultKinds' order).
	Faults map[string]int
	Kinds  []string
	// Settle: end of the chaos → every device monitored and every lamp
	// right.
	Settle time.Duration
	// Restores are the host's restore times after each kill -9 (the
	// process gone → the LINK_UP of its replacement, every monitor
	// restored), as plugins.Stats.LastRestore reported them.
	Restores []time.Duration
	// At the end: Silent devices the host takes as monitored that the
	// simulator does not monitor; Reported ones the host reports as not
	// monitored (with the PBX's reason); Wrong lamps.
	Wrong, Silent, Reported, MonitorRetries, Rs int
	// Orphans: monitors at the simulator beyond one per device (a
	// MonitorStart the driver gave up on that the PBX carried out, a
	// subscription it forgot), when the lamps settled and, if there were
	// some then, OrphansLater after the simulator's own cleanup of
	// abandoned sessions (Avaya: sessionCleanupDelay).
	Orphans, OrphansLater int
	// Unmonitored lists some devices silently unmonitored (for the
	// report).
	Unmonitored []string
	// Curve is the settle curve: where the devices stood at the end of
	// the chaos and then every curveEvery until it settled (or gave up),
	// to tell a restore that stalls from one that a starved machine
	// slows.
	Curve []settlePoint
}

// settlePoint is one point of the settle curve.
type settlePoint struct {
	At                             time.Duration // since the end of the chaos
	AtSim, Silent, Reported, Wrong int
}

// curveEvery spaces the settle curve's points.
const curveEvery = 5 * time.Second

// orphanWait is how long a chaos run with orphans at settle waits for the
// simulator to drop abandoned sessions' monitors (AES keeps a session
// whose link went away for its sessionCleanupDelay, 60 s at most in
// lab/avaya).
const orphanWait = 75 * time.Second

// chaos disrupts r for d, then waits for every device to be monitored
// (or reported) and every lamp to be right again.
func chaos(ctx context.Context, r *rig, v *view, devs []string, d time.Duration) (Chaos, error) {
	c := Chaos{Duration: d, Faults: map[string]int{}}
	faults := append(r.pbx.faults(len(devs)), fault{kind: "kill -9", inject: func(*rand.Rand) {
		if pid := r.sup.PID(); pid != 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}})
	for _, f := range faults {
		c.Kinds = append(c.Kinds, f.kind)
	}
	lctx, stop := context.WithTimeout(ctx, d)
	defer stop()
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		load(lctx, r.sup, devs[:min(len(devs), 400)], 4, r.pbx.chaosRate(), false)
	}()
	rng := rand.New(rand.NewPCG(1, 2))
	last := r.sup.Stats().LastRestore
	for lctx.Err() == nil {
		select {
		case <-lctx.Done():
			continue
		case <-time.After(time.Duration(300+rng.IntN(1200)) * time.Millisecond):
		}
		if lr := r.sup.Stats().LastRestore; lr != last {
			c.Restores, last = append(c.Restores, lr), lr
		}
		f := faults[rng.IntN(len(faults))]
		f.inject(rng)
		c.Faults[f.kind]++
	}
	<-loadDone
	r.pbx.heal()
	end := time.Now()
	// Settle: every device monitored at the simulator or reported, and
	// every lamp right.
	deadline := end.Add(3 * time.Minute)
	for {
		t := time.Now()
		var atSim int
		c.Silent, c.Reported, atSim, c.Unmonitored = silentDevices(r)
		c.Wrong = v.wrong(r, devs)
		settled := c.Silent == 0 && c.Reported == 0 && c.Wrong == 0
		if n := len(c.Curve); settled || n == 0 || time.Since(end)-c.Curve[n-1].At >= curveEvery {
			c.Curve = append(c.Curve, settlePoint{At: time.Since(end), AtSim: atSim, Silent: c.Silent,
				Reported: c.Reported, Wrong: c.Wrong})
		}
		if settled {
			break
		}
		if time.Now().After(deadline) {
			c.Settle = time.Since(end)
			states := map[plugins.MonitorState]int{}
			var reason string
			for _, m := range r.sup.MonitorStates() {
				states[m.State]++
				if m.State != plugins.MonitorActive && reason == "" {
					reason = m.Device + ": " + m.Reason
				}
			}
			st := r.sup.Stats()
			c.MonitorRetries, c.Rs = int(st.MonitorRetries), int(st.Resyncs)
			c.Orphans = orphans(r)
			return c, fmt.Errorf("chaos: did not settle within 3 minutes: %d silently unmonitored (e.g. %v), %d wrong lamps, "+
				"host states %v (e.g. %s), driver up %v, refused %v, %d monitors at the simulator",
				c.Silent, c.Unmonitored, c.Wrong, states, reason, r.sup.Up(), r.sup.Refused(), len(r.pbx.monitors()))
		}
		// At least as long as the check took: at 5,000 devices it is not
		// free, and the bench must not starve the restore it measures.
		time.Sleep(max(50*time.Millisecond, time.Since(t)))
	}
	c.Settle = time.Since(end)
	st := r.sup.Stats()
	c.MonitorRetries, c.Rs = int(st.MonitorRetries), int(st.Resyncs)
	c.Orphans = orphans(r)
	c.OrphansLater = c.Orphans
	for t := time.Now(); c.OrphansLater > 0 && time.Since(t) < orphanWait && ctx.Err() == nil; {
		time.Sleep(time.Second)
		c.OrphansLater = orphans(r)
	}
	return c, nil
}

// silentDevices counts the devices the host takes as monitored that the
// simulator does not monitor for the driver's live link (listing the first
// few), the devices the host reports as not monitored, and the devices the
// simulator monitors for the live link.
func silentDevices(r *rig) (silent, reported, atSim int, some []string) {
	at := map[string]bool{}
	for _, d := range r.pbx.liveMonitors() {
		at[d] = true
	}
	atSim = len(at)
	for _, m := range r.sup.MonitorStates() {
		switch {
		case m.State != plugins.MonitorActive:
			reported++
		case !at[m.Device]:
			silent++
			if len(some) < 5 {
				some = append(some, m.Device)
			}
		}
	}
	return silent, reported, atSim, some
}

// printChaos prints a chaos run's record.
func printChaos(out interface{ Write([]byte) (int, error) }, driver string, c Chaos, err error) {
	var kinds []string
	for _, k := range c.Kinds {
		kinds = append(kinds, fmt.Sprintf("%d %s", c.Faults[k], k))
	}
	fmt.Fprintf(out, "cti chaos %s, %s: %s; %d monitor retries, %d resync snapshots\n", driver, c.Duration,
		strings.Join(kinds, ", "), c.MonitorRetries, c.Rs)
	if len(c.Restores) > 0 {
		rs := slices.Clone(c.Restores)
		slices.Sort(rs)
		fmt.Fprintf(out, "  host restores after kill -9 (%d seen): p50 %s, max %s\n", len(rs), ms(rs[len(rs)/2]), ms(rs[len(rs)-1]))
	}
	fmt.Fprintf(out, "  after it: settled in %s; devices silently unmonitored %d, reported %d, wrong lamps %d, "+
		"orphaned monitors at the simulator %d (after its cleanup %d) (goal 0 silently unmonitored: %s)\n",
		ms(c.Settle), c.Silent, c.Reported, c.Wrong, c.Orphans, c.OrphansLater,
		map[bool]string{true: "MET", false: "NOT MET"}[c.Silent == 0 && c.Wrong == 0 && err == nil])
	if len(c.Curve) > 1 {
		var pts []string
		for _, p := range c.Curve {
			pts = append(pts, fmt.Sprintf("+%.1fs %d at the simulator/%d silent/%d reported/%d wrong",
				p.At.Seconds(), p.AtSim, p.Silent, p.Reported, p.Wrong))
		}
		fmt.Fprintf(out, "  settle curve (devices monitored at the simulator, silently unmonitored, reported, wrong lamps): %s\n",
			strings.Join(pts, ", "))
	}
	if c.Silent > 0 && os.Getenv("CTIBENCH_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, "silently unmonitored, e.g. %v\n", c.Unmonitored)
	}
}

// spell runs on, waits a random 0.2–1.2 s, then runs off.
func spell(rng *rand.Rand, on, off func()) {
	on()
	time.Sleep(time.Duration(200+rng.IntN(1000)) * time.Millisecond)
	off()
}

// faults of lab/mitel: link drops, a licence shortage across the next
// reconnect (refused MonitorStarts), answers slower than the request
// timeout (timed-out requests), lost events then SystemStatus
// messagesLost, and a CTI outage (connections closed as they come).
func mitelFaults(sim *labmitel.Sim, n int) []fault {
	return []fault{
		{"link drop", func(*rand.Rand) { sim.DropLinks() }},
		{"licence shortage", func(rng *rand.Rand) {
			sim.SetMonitorLimit(n - 1 - rng.IntN(50))
			sim.DropLinks()
			time.AfterFunc(time.Duration(500+rng.IntN(2000))*time.Millisecond, func() { sim.SetMonitorLimit(0) })
		}},
		{"slow PBX (timeouts)", func(rng *rand.Rand) {
			spell(rng, func() { sim.SetDelay(6 * time.Second) }, func() { sim.SetDelay(0) })
		}},
		{"messagesLost", func(rng *rand.Rand) { loseThenTell(sim, 1+rng.IntN(20)) }},
		{"outage", func(rng *rand.Rand) { restore := sim.Outage(); spell(rng, func() {}, restore) }},
	}
}

// faults of lab/avaya: link drops (the session resumed), AES restarts
// (sessions and their monitors gone: everything monitored again), a
// licence shortage across an AES restart (refused MonitorStarts), answers
// slower than the request timeout, lost events then messagesLost, and an
// outage.
func avayaFaults(sim *labavaya.Sim, n int) []fault {
	return []fault{
		{"link drop", func(*rand.Rand) { sim.DropLinks() }},
		{"AES restart", func(*rand.Rand) { sim.ExpireSessions() }},
		{"licence shortage", func(rng *rand.Rand) {
			sim.SetMonitorLimit(n - 1 - rng.IntN(50))
			sim.ExpireSessions()
			time.AfterFunc(time.Duration(500+rng.IntN(2000))*time.Millisecond, func() { sim.SetMonitorLimit(0) })
		}},
		{"slow AES (timeouts)", func(rng *rand.Rand) {
			spell(rng, func() { sim.SetDelay(6 * time.Second) }, func() { sim.SetDelay(0) })
		}},
		{"messagesLost", func(rng *rand.Rand) { loseThenTell(sim, 1+rng.IntN(20)) }},
		{"outage", func(rng *rand.Rand) { restore := sim.Outage(); spell(rng, func() {}, restore) }},
	}
}

// faults of lab/cisco: event channels dropped, Xsi outages (every request
// 503, channels gone), Xsi-Actions answers slower than the request
// timeout, slow channel and subscription refreshes, event responses
// refused 500, events lost (a sequenceNumber gap), channels stalled (no
// events, no heartbeats).
func ciscoFaults(sim *labcisco.Sim, all []string) []fault {
	return []fault{
		{"channel drop", func(*rand.Rand) { sim.DropChannels() }},
		{"HTTP 503 outage", func(rng *rand.Rand) { restore := sim.Outage(); spell(rng, func() {}, restore) }},
		{"slow answers (timeouts)", func(rng *rand.Rand) {
			spell(rng, func() { sim.SetDelay(12 * time.Second) }, func() { sim.SetDelay(0) })
		}},
		{"slow refreshes", func(rng *rand.Rand) {
			spell(rng, func() { sim.SetRefreshDelay(12 * time.Second) }, func() { sim.SetRefreshDelay(0) })
		}},
		{"event responses 500", func(rng *rand.Rand) { sim.RefuseAcks(1 + rng.IntN(10)) }},
		{"events lost (gap)", func(rng *rand.Rand) {
			for range 1 + rng.IntN(5) {
				sim.SkipEvents(all[rng.IntN(min(len(all), 400))], 1+rng.IntN(3))
			}
		}},
		{"channel stall", func(*rand.Rand) { sim.StallChannels() }},
	}
}

// loser is a CSTA simulator that can lose events and say so.
type loser interface {
	LoseEvents(n int)
	Lost() int
	SendSystemStatus(status string)
}

// loseThenTell makes sim lose n events, waits (up to 2 s) until it lost
// them, then sends SystemStatus messagesLost: a switch reports a loss
// after it, so events it loses after the report it reports again (ending
// the loss first keeps the run from leaving a loss nobody was told of).
func loseThenTell(sim loser, n int) {
	before := sim.Lost()
	sim.LoseEvents(n)
	for t := time.Now(); sim.Lost() < before+n && time.Since(t) < 2*time.Second; {
		time.Sleep(10 * time.Millisecond)
	}
	sim.LoseEvents(0)
	sim.SendSystemStatus(cstaxml.SystemStatusMessagesLost)
}
