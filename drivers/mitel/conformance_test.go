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
		sim, err := labmitel.New(labmitel.Config{User: "csta", Password: "secret", Devices: devs})
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
			DropLink: sim.DropLinks, Incoming: sim.Incoming, Names: names}
	}})
}
