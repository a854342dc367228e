package mitel

import (
	"strings"
	"testing"
)

// TestDeviceIDFormat: a pattern holding "{device}" once is accepted and
// reads back every device name it writes; any other is refused; IDs not in
// the form (external numbers) are left as they are.
func TestDeviceIDFormat(t *testing.T) {
	for _, format := range []string{"{device}", "N<{device}!98>", "{device}{device}", "", "x{dev}", "<{device}", "{device}>"} {
		ids, err := parseDeviceIDFormat(format)
		if (err == nil) != (strings.Count(format, "{device}") == 1) {
			t.Fatalf("format %q: err %v", format, err)
		}
		if err != nil {
			continue
		}
		for _, dev := range []string{"201", "N<201!98>", "<", "!98>", "x"} {
			if got := ids.model(ids.wire(dev)); got != dev {
				t.Errorf("format %q: %q written %q read back %q", format, dev, ids.wire(dev), got)
			}
		}
	}
	ids, _ := parseDeviceIDFormat("N<{device}!98>")
	if got := ids.model("0301234567"); got != "0301234567" {
		t.Errorf("external number read as %q", got)
	}
}
