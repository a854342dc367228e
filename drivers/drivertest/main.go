package drivertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main is a driver package's TestMain.
type Main struct {
	// Name names the temporary directory the binary is built in.
	Name string
	// Leaks are substrings of function names (package paths ending in
	// ".", e.g. "switchboard/drivers/mitel.") whose goroutines must all
	// have ended once the tests passed.
	Leaks []string
	// SkipUnbuilt: when the switchboard binary does not build (a package
	// outside the driver is broken for a moment), the tests that need it
	// skip ([Switchboard]) instead of the whole run failing.
	SkipUnbuilt bool
}

// switchboardBin is the binary Main built; buildErr says why it was not.
var switchboardBin, buildErr string

// Run builds the switchboard binary, runs the tests, checks for leaked
// goroutines and exits.
func (mm Main) Run(m *testing.M) {
	dir, err := os.MkdirTemp("", mm.Name+"-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	switchboardBin = filepath.Join(dir, "switchboard")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.Command(gobin, "build", "-o", switchboardBin, "github.com/switchboard-gw/switchboard/cmd/switchboard")
	if out, err := build.CombinedOutput(); err != nil {
		buildErr = fmt.Sprintf("build switchboard: %v\n%s", err, out)
		if !mm.SkipUnbuilt {
			fmt.Fprintln(os.Stderr, buildErr)
			_ = os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	if code == 0 {
		if leaked := LeakedGoroutines(3*time.Second, mm.Leaks...); leaked != "" {
			fmt.Fprintln(os.Stderr, "leaked goroutines:\n"+leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// Switchboard returns the path of the binary [Main] built. When it could
// not be built the test skips (Main.SkipUnbuilt) or fails.
func Switchboard(t testing.TB) string {
	t.Helper()
	if switchboardBin == "" {
		t.Fatal("drivertest: no switchboard binary: TestMain must call drivertest.Main.Run")
	}
	if buildErr != "" {
		t.Skip("switchboard binary not built (a package outside the driver does not compile): " + buildErr)
	}
	return switchboardBin
}

// LeakedGoroutines returns the stacks of goroutines running code whose
// function names contain one of the patterns, after giving them up to
// wait to end; "" when there are none.
func LeakedGoroutines(wait time.Duration, patterns ...string) string {
	deadline := time.Now().Add(wait)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			for _, p := range patterns {
				if strings.Contains(g, p) {
					leaked = append(leaked, g)
					break
				}
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
