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
		d := mitel.New()
		t.Cleanup(func() { _ = d.Close() })
		return conformance.Setup{Driver: sdk.Adapt(d), Config: driverConfig(sim.Addr(), nil), Devices: devs,
			DropLink: sim.DropLinks, Incoming: sim.Incoming}
	}})
}
