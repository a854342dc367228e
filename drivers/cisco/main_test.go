package cisco_test

import (
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/drivertest"
)

// TestMain builds the real binary once for the go-plugin test and fails
// the run if a goroutine of the driver or its simulator outlives the
// tests.
func TestMain(m *testing.M) {
	drivertest.Main{Name: "cisco", Leaks: []string{"switchboard/drivers/cisco.", "switchboard/lab/cisco.",
		"switchboard/drivers/cisco/xsi.", "switchboard/drivers/pbxlink."}}.Run(m)
}
