//go:build !linux

package e2e

import "syscall"

// dieWithParent has no portable equivalent outside Linux: the collector is
// stopped by the tests' cleanup only.
func dieWithParent() *syscall.SysProcAttr { return nil }
