//go:build !linux

package plugins

import "os/exec"

// setParentDeathSignal does nothing off Linux: there the SDK's parent
// watch ends orphaned drivers.
func setParentDeathSignal(*exec.Cmd) {}

func onSpawnThread(f func()) { f() }
