//go:build !race

package mapx

import "sync/atomic"

// touch loads the word at p and discards it: a prefetch. The word may be
// written meanwhile under a lock the caller does not hold; its value does not
// matter, and the race detector's build leaves touch out.
func touch(p *uint64) { atomic.LoadUint64(p) }

// raceBuild is whether this is the race detector's build.
const raceBuild = false
