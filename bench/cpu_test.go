package bench

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
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

// threadCPU sums the CPU time of the goroutines of a RunParallel body, each
// locked to its thread while it runs, and reports it per operation as
// thread-ns/op: time the thread spent off its processor, and every other
// thread's work (the garbage collector's too), does not count. Of the three
// measures it moves least on a shared machine.
type threadCPU struct{ ns atomic.Int64 }

// start locks the goroutine to its thread and returns the function that
// adds the thread's CPU time since.
func (t *threadCPU) start() (stop func()) {
	runtime.LockOSThread()
	t0 := threadNow()
	return func() {
		t.ns.Add(threadNow() - t0)
		runtime.UnlockOSThread()
	}
}

func (t *threadCPU) report(b *testing.B) {
	b.ReportMetric(float64(t.ns.Load())/float64(b.N), "thread-ns/op")
}

func threadNow() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return ts.Nano()
}
