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
// locked to it, which any library may do, so drivers are forked from one
// thread that lives as long as the process: a goroutine locked to it for
// good.
var spawner struct {
	once sync.Once
	ch   chan func()
}

// onSpawnThread runs f (which starts a driver process) on the spawn thread.
func onSpawnThread(f func()) {
	spawner.once.Do(func() {
		spawner.ch = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives on
			for f := range spawner.ch {
				f()
			}
		}()
	})
	done := make(chan struct{})
	spawner.ch <- func() { defer close(done); f() }
	<-done
}
