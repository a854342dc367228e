package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"syscall"
	"time"
)

// The message-waiting query's share of the restore (-mwi-ab N): the CSTA
// drivers ask GetMessageWaitingIndicator beside SnapshotDevice for every
// device they restore. N rounds, each one rig with the query and one
// without (the drivers' skip_mwi_query), alternated so that the machine's
// load falls on both alike: -lamps devices monitored, then a PBX link
// drop and a kill -9 of the driver, each until every device's fresh
// snapshot was read.

// mwiDrivers are the drivers that ask the PBX for message waiting in
// their snapshots (Cisco's comes with its Voice Messaging subscription).
var mwiDrivers = []string{"mitel", "avaya"}

// MWIRound is one rig's restore times.
type MWIRound struct {
	Skip       bool
	Drop, Kill time.Duration
}

// withSkipMWI returns cfg with skip_mwi_query set.
func withSkipMWI(cfg []byte) []byte {
	var m map[string]any
	if json.Unmarshal(cfg, &m) != nil {
		return cfg
	}
	m["skip_mwi_query"] = true
	return marshal(m)
}

// mwiRound runs one rig of driver with or without the query.
func mwiRound(ctx context.Context, o Options, driver string, skip bool) (MWIRound, error) {
	res := MWIRound{Skip: skip}
	o.skipMWI = skip
	devs := devices(o.Lamps, 70000)
	r, err := newRig(ctx, o, driver, devs, 1<<16)
	if err != nil {
		return res, err
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
	if err := <-linkUp; err != nil {
		return res, err
	}
	if err := r.monitor(ctx, devs); err != nil {
		return res, err
	}
	time.Sleep(300 * time.Millisecond)
	dropped := time.Now()
	r.pbx.dropLinks()
	last, err := waitAll(ctx, v, devs, dropped, 60*time.Second)
	if err != nil {
		return res, fmt.Errorf("link drop: %w", err)
	}
	res.Drop = last.Sub(dropped)
	time.Sleep(300 * time.Millisecond)
	killed := time.Now()
	if err := syscall.Kill(r.sup.PID(), syscall.SIGKILL); err != nil {
		return res, err
	}
	last, err = waitAll(ctx, v, devs, killed, 60*time.Second)
	if err != nil {
		return res, fmt.Errorf("kill -9: %w", err)
	}
	res.Kill = last.Sub(killed)
	return res, nil
}

// runMWI runs o.MWIRounds rounds for each CSTA driver of o.Drivers and
// prints the medians and the query's share.
func runMWI(ctx context.Context, o Options) error {
	o.defaults()
	for _, d := range o.Drivers {
		if !slices.Contains(mwiDrivers, d) {
			continue
		}
		var with, without []MWIRound
		for i := range 2 * o.MWIRounds {
			skip := i%2 == 1
			rd, err := mwiRound(ctx, o, d, skip)
			if err != nil {
				return fmt.Errorf("mwi %s (skip %v): %w", d, skip, err)
			}
			fmt.Fprintf(o.Out, "  mwi %s round %d, query %s: link drop → every snapshot %s, kill -9 → every snapshot %s\n",
				d, i/2+1, map[bool]string{false: "asked", true: "skipped"}[skip], ms(rd.Drop), ms(rd.Kill))
			if skip {
				without = append(without, rd)
			} else {
				with = append(with, rd)
			}
		}
		med := func(rs []MWIRound, f func(MWIRound) time.Duration) time.Duration {
			ds := make([]time.Duration, 0, len(rs))
			for _, r := range rs {
				ds = append(ds, f(r))
			}
			slices.Sort(ds)
			if n := len(ds); n%2 == 0 {
				return (ds[n/2-1] + ds[n/2]) / 2
			}
			return ds[len(ds)/2]
		}
		drop := func(r MWIRound) time.Duration { return r.Drop }
		kill := func(r MWIRound) time.Duration { return r.Kill }
		share := func(a, b time.Duration) float64 { return 100 * float64(a-b) / float64(a) }
		wd, nd, wk, nk := med(with, drop), med(without, drop), med(with, kill), med(without, kill)
		fmt.Fprintf(o.Out, "cti mwi query, %s, %d devices, median of %d rounds each, alternated: link drop → every snapshot %s with it, %s without "+
			"(its share %.0f%%); kill -9 → every snapshot %s with, %s without (%.0f%%)\n",
			d, o.Lamps, o.MWIRounds, ms(wd), ms(nd), share(wd, nd), ms(wk), ms(nk), share(wk, nk))
	}
	return nil
}
