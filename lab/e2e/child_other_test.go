//go:build !linux

package e2e

import "os/exec"

// dieWithParent does nothing where the kernel has no parent-death signal:
// a killed test binary can leave its children behind there.
func dieWithParent(*exec.Cmd) {}
