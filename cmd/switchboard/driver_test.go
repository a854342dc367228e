package main

import (
	"slices"
	"testing"

	"github.com/switchboard-gw/switchboard/gateway/config"
)

// TestBundledDriversMatchConfig: the driver names the config accepts are
// the drivers this binary bundles.
func TestBundledDriversMatchConfig(t *testing.T) {
	for _, name := range config.BundledDrivers {
		if _, ok := bundledDrivers[name]; !ok {
			t.Errorf("config accepts driver %q, which the binary does not bundle", name)
		}
	}
	for name := range bundledDrivers {
		if !slices.Contains(config.BundledDrivers, name) {
			t.Errorf("bundled driver %q is not accepted by the config (config.BundledDrivers)", name)
		}
	}
}
