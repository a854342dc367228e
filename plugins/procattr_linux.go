package plugins

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// setParentDeathSignal makes Linux kill the driver when the host dies, so
// no driver outlives its host even when it does not watch its parent
// itself (the SDK does).
func setParentDeathSignal(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	}
}

// The parent-death signal fires when the OS thread that forked the child
// exits, not the process. Go retires a thread when a goroutine exits while
// locked to it, which any library may do, so drivers are forked from spawn
// threads that live as long as the process: goroutines locked to them for
// good. A start holds its thread for go-plugin's whole client start (the
// fork and the handshake, up to StartTimeout), so each concurrent start
// gets its own thread: one driver slow to start does not hold up another's
// restart (TestRestartNotBehindHeldStart in gateway/cti). The threads are
// kept and reused; there are never more than the starts that ran at once.
var spawner struct {
	mu   sync.Mutex
	idle []chan func()
}

// onSpawnThread runs f (which starts a driver process) on an idle spawn
// thread, or a new one when all are busy.
func onSpawnThread(f func()) {
	spawner.mu.Lock()
	var w chan func()
	if n := len(spawner.idle); n > 0 {
		w, spawner.idle = spawner.idle[n-1], spawner.idle[:n-1]
	} else {
		w = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives on
			for f := range w {
				f()
			}
		}()
	}
	spawner.mu.Unlock()
	done := make(chan struct{})
	w <- func() { defer close(done); f() }
	<-done
	spawner.mu.Lock()
	spawner.idle = append(spawner.idle, w)
	spawner.mu.Unlock()
}
