package bench

import (
	"syscall"
	"testing"
)

// cpuPerOp starts counting the process's CPU time and returns a function
// that reports it per operation as cpu-ns/op. On a shared machine, where
// other processes take the processors away, it moves less than ns/op; it
// includes the garbage collector's work.
func cpuPerOp(b *testing.B) (report func()) {
	t0 := cpuNow()
	return func() { b.ReportMetric(float64(cpuNow()-t0)/float64(b.N), "cpu-ns/op") }
}

func cpuNow() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
