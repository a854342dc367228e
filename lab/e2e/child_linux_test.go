//go:build linux

package e2e

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel send the child SIGKILL when the thread
// that starts it exits (prctl PR_SET_PDEATHSIG, which exec sets in the
// child between fork and exec). startChild keeps that thread alive until
// the child exits.
func dieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}
