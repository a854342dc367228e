package conformance_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/conformance"
	"github.com/switchboard-gw/switchboard/drivers/mitel"
	labmitel "github.com/switchboard-gw/switchboard/lab/mitel"
	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// liar wraps a real driver and misstates its capabilities: it declares
// park, which answers "not supported" (the Mitel driver has none), and
// hides hold, which works.
type liar struct{ plugins.Driver }

func (l liar) Capabilities(ctx context.Context) (plugins.Capabilities, error) {
	c, err := l.Driver.Capabilities(ctx)
	c.Services = slices.DeleteFunc(slices.Clone(c.Services), func(s plugins.Service) bool { return s == plugins.ServiceHold })
	c.Services = append(c.Services, plugins.ServicePark, plugins.ServicePickup)
	return c, err
}

func mitelTarget(lie bool) conformance.Target {
	return conformance.Target{Name: "mitel", New: func(t *testing.T) conformance.Setup {
		devs := []string{"201", "202", "203", "204"}
		sim, err := labmitel.New(labmitel.Config{Devices: devs, Lines: 1, ExternalPrefix: "0",
			Groups: map[string][]string{"600": {"204"}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sim.Close() })
		d := mitel.New()
		t.Cleanup(func() { _ = d.Close() })
		cfg, _ := json.Marshal(map[string]string{"address": sim.Addr()})
		var drv plugins.Driver = sdk.Adapt(d)
		if lie {
			drv = liar{drv}
		}
		return conformance.Setup{Driver: drv, Config: cfg, Devices: devs, Queue: "600", External: "0301234567"}
	}}
}

// TestLyingTarget is run by TestSuiteCatchesLies in a child process; it
// must fail.
func TestLyingTarget(t *testing.T) {
	if os.Getenv("CONFORMANCE_LIAR") != "1" {
		t.Skip("run by TestSuiteCatchesLies")
	}
	conformance.Run(t, mitelTarget(true))
}

// TestSuiteCatchesLies: a driver that declares a service it answers "not
// supported" to, or hides one it has, fails the suite, naming both.
func TestSuiteCatchesLies(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestLyingTarget$", "-test.v")
	cmd.Env = append(os.Environ(), "CONFORMANCE_LIAR=1")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the suite passed a lying driver:\n%s", out)
	}
	for _, want := range []string{
		"--- FAIL: TestLyingTarget/capabilities",
		"hold is not declared but answers hold: not found",
		"--- FAIL: TestLyingTarget/park_pickup",
		"declares park but answers not supported",
		"--- SKIP: TestLyingTarget/hold_retrieve",
		"--- PASS: TestLyingTarget/call",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestHonestTarget: the same driver, honest, passes.
func TestHonestTarget(t *testing.T) { conformance.Run(t, mitelTarget(false)) }
