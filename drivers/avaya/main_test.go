package avaya_test

import (
	"testing"

	"github.com/switchboard-gw/switchboard/drivers/drivertest"
)

// TestMain builds the real binary once for the go-plugin test and fails
// the run if a goroutine of the driver or its simulator outlives the
// tests.
func TestMain(m *testing.M) {
	drivertest.Main{Name: "avaya", Leaks: []string{"switchboard/drivers/avaya.", "switchboard/lab/avaya.",
		"switchboard/drivers/csta.", "switchboard/drivers/pbxlink."}, SkipUnbuilt: true}.Run(m)
}
