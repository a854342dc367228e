package dnssrv

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestManager builds the manager, serves metrics, and leaves no goroutine
// behind after Stop.
func TestManager(t *testing.T) {
	before := runtime.NumGoroutine()
	z := newZone(t, pbx...)
	m, err := NewManager(ManagerOptions{ // no prober: probing off
		Resolver: Options{Servers: []string{z.Addr}, IPv4Only: true},
		Trunks: []TrunkOptions{
			{Name: "pbx", Target: "sip:srv.test;transport=udp", Probe: ProbeOptions{Interval: 50 * time.Millisecond, All: true}},
			{Name: "lit", Target: "10.0.0.1:5070"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Trunk("nope"); err == nil {
		t.Error("unknown trunk found")
	}
	m.Start(context.Background())
	tr, _ := m.Trunk("pbx")
	lit, _ := m.Trunk("lit")
	// Each trunk resolves on its own goroutine: the literal one too (CI
	// under load gathered before it had, 0 targets).
	waitFor(t, func() bool { return len(tr.Snapshot().Targets) == 3 && len(lit.Snapshot().Targets) == 1 })
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			k := mf.GetName()
			for _, l := range mt.GetLabel() {
				k += " " + l.GetValue()
			}
			got[k] = mt.GetGauge().GetValue() + mt.GetCounter().GetValue()
		}
	}
	for k, v := range map[string]float64{
		"switchboard_trunk_targets pbx":                                 3,
		"switchboard_trunk_targets lit":                                 1,
		"switchboard_trunk_target_up udp:192.0.2.10:5060 pbx":           1,
		"switchboard_trunk_target_requests_total udp:10.0.0.1:5070 lit": 0,
	} {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v)", k, g, ok)
		}
	}
	m.Stop()
	m.Stop() // twice is fine
	time.Sleep(50 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before+4 { // the zone's servers run until cleanup
		t.Errorf("goroutines %d before, %d after Stop", before, after)
	}
}
