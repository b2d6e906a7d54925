//go:build race

package instrumented

import "sync/atomic"

// increment adds d to *n atomically: under the race detector, which does not
// know that pinning to a P serializes the writers of n.
func increment(n *int64, d int64) int64 {
	return atomic.AddInt64(n, d)
}
