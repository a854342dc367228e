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
		sim, err := labavaya.New(simConfig(labavaya.Config{Devices: devs}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sim.Close() })
		d := avaya.New()
		t.Cleanup(func() { _ = d.Close() })
		return conformance.Setup{Driver: sdk.Adapt(d), Config: driverConfig(sim.Addr(), nil), Devices: devs,
			DropLink: sim.DropLinks, Incoming: sim.Incoming}
	}})
}
