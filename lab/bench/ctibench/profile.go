package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"time"
)

// profileEnv, when set to a path prefix, makes every process of the bench
// write a CPU profile: the bench itself (the host side: simulator,
// supervisor, consumer) to PREFIX.host for its whole run, and each driver
// process to PREFIX.driver.PID for its first profileWindow (a driver
// killed with -9 leaves nothing; the one that replaced it is the restore
// to look at).
const profileEnv = "CTIBENCH_CPUPROFILE"

// profileWindow is how long a driver process profiles itself.
var profileWindow = 15 * time.Second

// startProfile starts the CPU profile of this process (role "host" or
// "driver") when profileEnv is set; stop ends it.
func startProfile(role string) (stop func()) {
	prefix := os.Getenv(profileEnv)
	if prefix == "" {
		return func() {}
	}
	name := prefix + "." + role
	if role == "driver" {
		name += fmt.Sprintf(".%d", os.Getpid())
	}
	f, err := os.Create(name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctibench: profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }
}
