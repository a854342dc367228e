package ctisim_test

import (
	"os/exec"
	"strings"
	"testing"
)

// driversHarness are the lab packages whose job is to run a driver (the
// CTI benchmark drives drivers/mitel against the simulator); everything
// else in lab/ is a witness and must not share the drivers' code.
var driversHarness = map[string]bool{
	"github.com/switchboard-gw/switchboard/lab/bench/ctibench": true,
}

// TestSimulatorsIndependentOfDrivers fails if a lab package (the PBX
// simulators, their commands and shared code) depends on drivers/...,
// directly or through another package: a simulator that shares the
// driver's codec agrees with it on every wrong element name, namespace or
// event package, so tests against it prove nothing about real PBXs.
func TestSimulatorsIndependentOfDrivers(t *testing.T) {
	out, err := exec.Command("go", "list",
		"-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "github.com/switchboard-gw/switchboard/lab/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const drivers = "github.com/switchboard-gw/switchboard/drivers/"
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || driversHarness[f[0]] {
			continue
		}
		checked++
		for _, dep := range f[1:] {
			if strings.HasPrefix(dep, drivers) {
				t.Errorf("%s depends on %s", f[0], dep)
			}
		}
	}
	if checked < 5 {
		t.Fatalf("only %d lab packages listed: %s", checked, out)
	}
}
