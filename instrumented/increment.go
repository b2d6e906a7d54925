package instrumented

import "sync/atomic"

// increment adds d to *n atomically and returns the new count.
func increment(n *int64, d int64) int64 {
	return atomic.AddInt64(n, d)
}
