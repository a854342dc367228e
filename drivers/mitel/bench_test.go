package mitel_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/drivers/mitel"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
)

// BenchmarkEventStorm monitors 5,000 devices on the simulator and makes
// calls between them from 50 goroutines; each call's latency is from
// MakeCall to the driver emitting Delivered at the called device (one
// request round trip plus three events). It reports p50/p99 and events/s.
//
//	go test -run '^$' -bench EventStorm -benchtime 5000x ./drivers/mitel/
func BenchmarkEventStorm(b *testing.B) {
	const devices, workers = 5000, 50
	sim, err := labmitel.New(labmitel.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer sim.Close()
	d := mitel.New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := d.Start(ctx, plugins.StartRequest{Config: driverConfig(sim.Addr(), nil)}); err != nil {
		b.Fatal(err)
	}
	defer d.Close()

	var mu sync.Mutex
	waiting := map[string]chan struct{}{} // call id → closed at Delivered to the called device
	early := map[string]bool{}
	var events int64
	go func() {
		_ = d.Events(ctx, func(ev plugins.Event) error {
			mu.Lock()
			events++
			if ev.Type == plugins.EventDelivered && ev.State == plugins.StateAlerting {
				if ch, ok := waiting[ev.CallID]; ok {
					close(ch)
					delete(waiting, ev.CallID)
				} else {
					early[ev.CallID] = true
				}
			}
			mu.Unlock()
			return nil
		})
	}()
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := range devices {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := d.MonitorStart(ctx, fmt.Sprint(10000+i)); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	b.Logf("%d monitors started in %s", devices, time.Since(start))

	lat := make([]time.Duration, 0, b.N)
	var lmu sync.Mutex
	b.ResetTimer()
	start = time.Now()
	work := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				from, to := fmt.Sprint(10000+2*i%devices), fmt.Sprint(10000+(2*i+1)%devices)
				t0 := time.Now()
				ref, err := d.MakeCall(ctx, plugins.MakeCallRequest{Calling: from, Called: to})
				if err != nil {
					b.Error(err)
					return
				}
				ch := make(chan struct{})
				mu.Lock()
				if early[ref.CallID] {
					delete(early, ref.CallID)
					close(ch)
				} else {
					waiting[ref.CallID] = ch
				}
				mu.Unlock()
				<-ch
				l := time.Since(t0)
				_ = d.Clear(ctx, ref)
				lmu.Lock()
				lat = append(lat, l)
				lmu.Unlock()
			}
		}()
	}
	for i := range b.N {
		work <- i
	}
	close(work)
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
	mu.Lock()
	b.ReportMetric(float64(events)/el.Seconds(), "events/s")
	mu.Unlock()
}
