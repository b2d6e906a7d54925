package e2e

import "syscall"

// dieWithParent makes the kernel kill the collector if the test process dies
// first (a panic, go test's -timeout, a kill), so that none is left behind.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
