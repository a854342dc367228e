package cisco_test

import (
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/cisco"
	"github.com/switchboard-gw/switchboard/drivers/conformance"
	labcisco "github.com/switchboard-gw/switchboard/lab/cisco"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// TestConformance runs the cross-driver suite against the Xsi simulator,
// each scenario on a fresh simulator and driver. BroadWorks parks against
// a user, so the park slot is the fourth lab user.
func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Target{Name: "cisco", New: func(t *testing.T) conformance.Setup {
		names := map[string]string{"201": "Anna Alt", "202": "Bert Berg", "203": "Carla Cruz", "204": "Dora Dix"}
		// Call waiting off (one line: a second call is busy), 0 for the
		// public network.
		sim, ca := newSim(t, labcisco.Config{Users: []string{"201", "202", "203", "204", "299"}, Names: names,
			Lines: 1, ExternalPrefix: "0", NetworkNames: map[string]string{"0301234567": "Erika Muster"}})
		d := cisco.New()
		t.Cleanup(func() { _ = d.Close() })
		return conformance.Setup{Driver: sdk.Adapt(d), Config: driverConfig(sim, ca, nil),
			Devices: []string{"201", "202", "203", "204"}, ParkSlot: "299", DropLink: sim.DropChannels, Incoming: sim.Incoming, Names: names,
			External: "0301234567", Outage: sim.Outage, ExternalName: "Erika Muster",
			Skip: map[string]string{"queued": "BroadWorks reports call-center queues in the Call Center event packages, not Advanced Call: the driver does not subscribe to them and the Xsi simulator has none"}}
	}})
}
