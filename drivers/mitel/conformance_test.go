package mitel_test

import (
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/conformance"
	"github.com/switchboard-gw/switchboard/drivers/mitel"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// TestConformance runs the cross-driver suite against the MiVO400
// simulator, each scenario on a fresh simulator and driver.
func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Target{Name: "mitel", New: func(t *testing.T) conformance.Setup {
		devs := []string{"201", "202", "203", "204"}
		// One line per phone (a second call is busy), hunt group 600 of
		// 204, 0 for the public network, calls offered before they alert.
		sim, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret", Devices: devs,
			Lines: 1, Groups: map[string][]string{"600": {"204"}}, ExternalPrefix: "0", Offer: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sim.Close() })
		names := map[string]string{"201": "Anna Alt", "202": "Bert Berg", "203": "Carla Cruz", "204": "Dora Dix"}
		var dir []map[string]string
		for _, dev := range devs {
			dir = append(dir, map[string]string{"device": dev, "name": names[dev]})
		}
		d := mitel.New()
		t.Cleanup(func() { _ = d.Close() })
		return conformance.Setup{Driver: sdk.Adapt(d), Config: driverConfig(sim.Addr(), map[string]any{"directory": dir}), Devices: devs,
			DropLink: sim.DropLinks, Incoming: sim.Incoming, Names: names,
			Queue: "600", External: "0301234567", Outage: sim.Outage, SetMessageWaiting: sim.SetMessageWaiting}
	}})
}
