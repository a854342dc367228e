package cisco_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/cisco"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/plugins"
)

// BenchmarkRestoreLatency measures the channel restore of
// CISCO_RESTORE_DEVICES users (default 1000, group subscription, channel
// set kept) against a server that takes CISCO_RESTORE_DELAY (default
// 20ms) to answer each Xsi-Actions request, as an Xsi server across a WAN
// does, side by side and alternated twice: each device's snapshot queries
// one after the other (before) and together (snapparts.go). It prints
// each figure, the ratio against the "before" just run, and the CPU the
// process (driver and simulator) spent per device.
//
//	go test -run '^$' -bench RestoreLatency -benchtime 1x ./drivers/cisco/
func BenchmarkRestoreLatency(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("CISCO_RESTORE_DEVICES")); err == nil && v > 0 {
		n = v
	}
	delay := 20 * time.Millisecond
	if v, err := time.ParseDuration(os.Getenv("CISCO_RESTORE_DELAY")); err == nil {
		delay = v
	}
	var exts []string
	for i := range n {
		exts = append(exts, strconv.Itoa(10000+i))
	}
	for range b.N {
		var base time.Duration
		for _, seq := range []bool{true, false, true, false} {
			sim, ca := newSim(b, labcisco.Config{Users: exts, WideSubscriptions: true})
			d := cisco.New()
			ctx, cancel := context.WithCancel(context.Background())
			ups := make(chan time.Time, 16)
			go func() {
				_ = d.Events(ctx, func(ev plugins.Event) error {
					if ev.Type == plugins.EventLinkUp {
						ups <- time.Now()
					}
					return nil
				})
			}()
			if err := d.Start(ctx, plugins.StartRequest{Config: driverConfig(sim, ca, map[string]any{"subscription_scope": "group",
				"service_provider_id": "sp1", "group_id": "group1", "snapshot_parallel": !seq})}); err != nil {
				b.Fatal(err)
			}
			<-ups
			sem := make(chan struct{}, 64)
			errs := make(chan error, n)
			for _, e := range exts {
				sem <- struct{}{}
				go func() {
					defer func() { <-sem }()
					_, err := d.MonitorStart(ctx, e)
					errs <- err
				}()
			}
			for range exts {
				if err := <-errs; err != nil {
					b.Fatal(err)
				}
			}
			sim.SetDelay(delay)
			before := sim.Stats()
			cpu0 := processCPU()
			start := time.Now()
			sim.DropChannels()
			up := <-ups
			for !up.After(start) { // a link_up of the start
				up = <-ups
			}
			took := up.Sub(start)
			cpu := processCPU() - cpu0
			after := sim.Stats()
			name := "queries together (snapshot_parallel)"
			if seq {
				name, base = "queries one by one (before)", took
			}
			fmt.Printf("cisco restore, %d devices, %s per Xsi answer, %-28s %8.0f ms  (%.2fx; %d call and %d service queries; CPU of driver and simulator %.0f µs per device)\n",
				n, delay, name+":", float64(took.Microseconds())/1000, float64(took)/float64(base),
				after.CallQueries-before.CallQueries, after.ServiceQueries-before.ServiceQueries,
				float64(cpu.Microseconds())/float64(n))
			cancel()
			_ = d.Close()
		}
	}
}

// processCPU is this process's CPU time so far (user + system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
