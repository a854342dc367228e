package main

import (
	"fmt"
	"io"

	"github.com/switchboard-gw/switchboard/drivers/avaya"
	"github.com/switchboard-gw/switchboard/drivers/cisco"
	"github.com/switchboard-gw/switchboard/drivers/mitel"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// bundledDrivers are the CTI drivers inside this binary, started by the
// host as `switchboard driver NAME` (plugins.Bundled).
var bundledDrivers = map[string]func() sdk.Driver{
	"avaya": func() sdk.Driver { return avaya.New() },
	"cisco": func() sdk.Driver { return cisco.New() },
	"mitel": func() sdk.Driver { return mitel.New() },
}

// cmdDriver runs a bundled driver over go-plugin. It writes nothing to
// stdout: go-plugin uses stdout for its handshake.
func cmdDriver(args []string, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: switchboard driver NAME")
		return 2
	}
	mk, ok := bundledDrivers[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "switchboard: unknown driver %q\n", args[0])
		return 2
	}
	sdk.Serve(mk())
	return 0
}
