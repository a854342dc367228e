//go:build unix

package plugins_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-gw/switchboard/plugins"
	"github.com/switchboard-gw/switchboard/plugins/sdk"
)

// exampleBin is the example driver, built once by TestMain.
var exampleBin string

// TestMain plays three parts. Run as `<test binary> driver NAME` it is a
// bundled driver, exactly as `switchboard driver NAME` is; run with
// SWITCHBOARD_TEST_HOST set it is a host for TestOrphanedDriverExits.
// Otherwise it builds the example driver and runs the tests.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "driver" {
		switch os.Args[2] {
		case "testpbx":
			sdk.Serve(newTestPBX())
		case "flaky":
			sdk.Serve(newFlaky())
		default:
			fmt.Fprintf(os.Stderr, "unknown driver %q\n", os.Args[2])
			os.Exit(2)
		}
		return
	}
	if os.Getenv("SWITCHBOARD_TEST_HOST") != "" {
		os.Exit(runTestHost())
	}
	dir, err := os.MkdirTemp("", "plugins-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	exampleBin = filepath.Join(dir, "example-driver")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.Command(gobin, "build", "-o", exampleBin, "github.com/switchboard-gw/switchboard/plugins/sdk/example")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build example driver:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// runTestHost supervises the example driver, prints its pid and waits to
// be killed.
func runTestHost() int {
	exampleBin = os.Getenv("SWITCHBOARD_TEST_EXAMPLE")
	cfg := exampleConfig(nil)
	if os.Getenv("SWITCHBOARD_TEST_HOST") == "no-pdeathsig" {
		cfg.Command = func(string) *exec.Cmd {
			c := exec.Command(exampleBin)
			c.SysProcAttr = plainProcAttr() // leaves only the SDK's parent watch
			return c
		}
	}
	s, err := plugins.NewSupervisor(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go func() { _ = s.Run(context.Background()) }()
	for ev := range s.Events() {
		if ev.Type == plugins.EventLinkUp {
			fmt.Println(s.PID())
		}
	}
	return 0
}

func fileSHA256(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	_, _ = io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}

// exampleConfig runs the example driver with quick supervision timings.
func exampleConfig(t *testing.T) plugins.Config {
	c := plugins.Config{
		Name:           "example",
		Path:           exampleBin,
		SHA256:         fileSHA256(exampleBin),
		DriverConfig:   []byte(`{"Vendor":"acme"}`),
		CallTimeout:    2 * time.Second,
		HealthInterval: 200 * time.Millisecond,
		HealthTimeout:  500 * time.Millisecond,
		BackoffMin:     20 * time.Millisecond,
	}
	if t != nil && testing.Verbose() {
		c.Logger = testLogger(t)
	}
	return c
}

// alive reports whether pid is a running (not zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		p, err := os.FindProcess(pid)
		return err == nil && p.Signal(signalZero) == nil
	}
	// "pid (comm) S ...": the state follows the last ')'.
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' {
			return i+2 < len(b) && b[i+2] != 'Z' && b[i+2] != 'X'
		}
	}
	return true
}
