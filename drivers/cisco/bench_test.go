package cisco_test

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/cisco"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/plugins"
)

// BenchmarkCallLatency: 200 monitored users, 20 callers at once; each
// iteration is MakeCall → Delivered (alerting) at the called user, over
// HTTPS to the simulator and back on the event channel, then the call is
// cleared. Reports p50/p99 and events/s.
//
//	go test -run '^$' -bench CallLatency -benchtime 1000x ./drivers/cisco/
func BenchmarkCallLatency(b *testing.B) {
	const users, workers = 200, 20
	var exts []string
	for i := range users {
		exts = append(exts, strconv.Itoa(5000+i))
	}
	sim, ca := newSim(b, labcisco.Config{Users: exts})
	d := cisco.New()
	defer d.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	waiting := map[string]chan struct{}{} // called device → signal
	var events int64
	up := make(chan struct{}, 1)
	go func() {
		_ = d.Events(ctx, func(ev plugins.Event) error {
			mu.Lock()
			events++
			if ev.Type == plugins.EventDelivered && ev.State == plugins.StateAlerting {
				if ch, ok := waiting[ev.Device]; ok {
					close(ch)
					delete(waiting, ev.Device)
				}
			}
			mu.Unlock()
			if ev.Type == plugins.EventLinkUp {
				select {
				case up <- struct{}{}:
				default:
				}
			}
			return nil
		})
	}()
	if err := d.Start(ctx, plugins.StartRequest{Config: driverConfig(sim, ca, map[string]any{"heartbeat_interval": "5s",
		"heartbeat_timeout": "30s"})}); err != nil {
		b.Fatal(err)
	}
	<-up
	for _, e := range exts {
		if _, err := d.MonitorStart(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, b.N)
	var lmu sync.Mutex
	work := make(chan int)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				// Each worker calls within its own pair of users.
				from, to := exts[2*w], exts[2*w+1]
				ch := make(chan struct{})
				mu.Lock()
				waiting[to] = ch
				mu.Unlock()
				t0 := time.Now()
				ref, err := d.MakeCall(ctx, plugins.MakeCallRequest{Calling: from, Called: to})
				if err != nil {
					b.Error(err)
					return
				}
				select {
				case <-ch:
				case <-time.After(5 * time.Second):
					b.Error("no delivered")
					return
				}
				lmu.Lock()
				lat = append(lat, time.Since(t0))
				lmu.Unlock()
				if err := d.Clear(ctx, ref); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for i := range b.N {
		work <- i
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		mu.Lock()
		n := events
		mu.Unlock()
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(n)/elapsed.Seconds(), "events/s")
	}
}
