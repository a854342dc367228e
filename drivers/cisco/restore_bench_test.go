package cisco_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/cisco"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/plugins"
)

// BenchmarkRestore measures the channel restore of CISCO_RESTORE_DEVICES
// monitored users (default 1000): the channel drops (network failure)
// → link_up with every device's fresh snapshot queued, side by side for
// the channel set kept (subscriptions refreshed, this driver) and the
// channel set lost (every subscription added again: what every channel
// loss cost before), per-user and with a group subscription. It prints
// each figure and the ratio against "set lost, per user" (the old cost).
//
//	CISCO_RESTORE_DEVICES=5000 go test -run '^$' -bench Restore -benchtime 1x ./drivers/cisco/
func BenchmarkRestore(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("CISCO_RESTORE_DEVICES")); err == nil && v > 0 {
		n = v
	}
	var exts []string
	for i := range n {
		exts = append(exts, strconv.Itoa(10000+i))
	}
	type variant struct {
		name  string
		extra map[string]any
		drop  func(*labcisco.Sim)
	}
	variants := []variant{
		{"set lost, per user (before)", nil, func(s *labcisco.Sim) { s.TerminateChannels("Expired") }},
		{"set kept, per user", nil, (*labcisco.Sim).DropChannels},
		{"set lost, group", groupScope, func(s *labcisco.Sim) { s.TerminateChannels("Expired") }},
		{"set kept, group", groupScope, (*labcisco.Sim).DropChannels},
	}
	var base time.Duration
	for range b.N {
		for _, v := range variants {
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
			if err := d.Start(ctx, plugins.StartRequest{Config: driverConfig(sim, ca, v.extra)}); err != nil {
				b.Fatal(err)
			}
			<-ups
			sem := make(chan struct{}, 32)
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
			before := sim.Stats()
			start := time.Now()
			v.drop(sim)
			up := <-ups
			took := up.Sub(start)
			after := sim.Stats()
			if base == 0 {
				base = took
			}
			fmt.Printf("cisco restore, %d devices, %-28s %8.0f ms  (%.2fx the old cost; %d subscriptions added, %d refreshed)\n",
				n, v.name+":", float64(took.Microseconds())/1000, float64(took)/float64(base),
				after.SubscriptionsAdded-before.SubscriptionsAdded, after.SubscriptionRefreshes-before.SubscriptionRefreshes)
			cancel()
			_ = d.Close()
		}
	}
}
