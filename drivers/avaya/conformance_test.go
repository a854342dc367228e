package avaya_test

import (
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/avaya"
	"github.com/switchboard-gw/switchboard/drivers/conformance"
	labavaya "github.com/switchboard-gw/switchboard/lab/avaya"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// TestConformance runs the cross-driver suite against the AE Services
// DMCC simulator, each scenario on a fresh simulator and driver.
func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Target{Name: "avaya", New: func(t *testing.T) conformance.Setup {
		devs := []string{"201", "202", "203", "204"}
		// One call appearance per station (a second call is busy), 0 for
		// the public network, hunt group 600 of 204.
		sim, err := labavaya.New(simConfig(labavaya.Config{Devices: devs, Lines: 1, ExternalPrefix: "0",
			Groups: map[string][]string{"600": {"204"}}}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sim.Close() })
		names := map[string]string{"201": "Anna Alt", "202": "Bert Berg", "203": "Carla Cruz", "204": "Dora Dix"}
		var dir []map[string]string
		for _, dev := range devs {
			dir = append(dir, map[string]string{"device": dev, "name": names[dev]})
		}
		d := avaya.New()
		t.Cleanup(func() { _ = d.Close() })
		return conformance.Setup{Driver: sdk.Adapt(d), Config: driverConfig(sim.Addr(), map[string]any{"directory": dir}), Devices: devs,
			DropLink: sim.DropLinks, Incoming: sim.Incoming, Names: names,
			External: "0301234567", Outage: sim.Outage, SetMessageWaiting: sim.SetMessageWaiting,
			Queue: "600"}
	}})
}
