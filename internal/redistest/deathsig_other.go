//go:build !linux

package redistest

import "os/exec"

// setParentDeathSignal does nothing where the kernel offers no parent-death
// signal; an interrupted test run may then leave a redis-server behind.
func setParentDeathSignal(*exec.Cmd) {}
