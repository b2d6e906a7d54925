package instrumented

import (
	"runtime"
	"sync/atomic"
	_ "unsafe" // for go:linkname
)

// The runtime's procPin returns the current P's id and keeps the goroutine on
// it until procUnpin. sync/atomic and several widely used modules link to it;
// the runtime keeps it for them (go.dev/issue/67401).
//
//go:linkname procPin runtime.procPin
func procPin() int

//go:linkname procUnpin runtime.procUnpin
func procUnpin()

// counter names one (operation, result) pair.
type counter int

const (
	cLoadHit counter = iota
	cLoadMiss
	cStore
	cLoadOrStoreHit
	cLoadOrStoreMiss
	cLoadAndDeleteHit
	cLoadAndDeleteMiss
	cDelete
	cSwapHit
	cSwapMiss
	cCompute
	cCompareAndSwapOK
	cCompareAndSwapFailed
	cCompareAndDeleteOK
	cCompareAndDeleteFailed
	cRange
	cSnapshot
	cClear
	cTryStoreOK
	cTryStoreRejected
	cStoreWaitOK
	cStoreWaitRejected
	cEntryDelta // SyncMap only: entries added minus entries removed
	numCounters
)

// counterSpec says how a counter is exported as mapx.operations.
var counterSpec = [numCounters]struct{ op, result string }{
	cLoadHit:                {"load", "hit"},
	cLoadMiss:               {"load", "miss"},
	cStore:                  {"store", ""},
	cLoadOrStoreHit:         {"load_or_store", "hit"},
	cLoadOrStoreMiss:        {"load_or_store", "miss"},
	cLoadAndDeleteHit:       {"load_and_delete", "hit"},
	cLoadAndDeleteMiss:      {"load_and_delete", "miss"},
	cDelete:                 {"delete", ""},
	cSwapHit:                {"swap", "hit"},
	cSwapMiss:               {"swap", "miss"},
	cCompute:                {"compute", ""},
	cCompareAndSwapOK:       {"compare_and_swap", "ok"},
	cCompareAndSwapFailed:   {"compare_and_swap", "failed"},
	cCompareAndDeleteOK:     {"compare_and_delete", "ok"},
	cCompareAndDeleteFailed: {"compare_and_delete", "failed"},
	cRange:                  {"range", ""},
	cSnapshot:               {"snapshot", ""},
	cClear:                  {"clear", ""},
	cTryStoreOK:             {"try_store", "ok"},
	cTryStoreRejected:       {"try_store", "rejected"},
	cStoreWaitOK:            {"store_wait", "ok"},
	cStoreWaitRejected:      {"store_wait", "rejected"},
}

// hitOrMiss returns hit if ok, else the miss counter that follows it.
func hitOrMiss(hit counter, ok bool) counter {
	if ok {
		return hit
	}
	return hit + 1
}

const cacheLine = 64

// stripe is one P's counters, padded so that no two Ps share a cache line.
type stripe struct {
	n [numCounters]int64
	_ [cacheLine - (numCounters*8)%cacheLine]byte
}

// counters are exact event counts, striped by P: counting an operation
// writes only to the current P's cache lines, with no OpenTelemetry call and
// no shared write. A stripe is written only by goroutines pinned to its P,
// one at a time, with atomic increments (no data race, in every build); the
// collector reads the stripes with atomic loads and sums them. Ps beyond the stripes (GOMAXPROCS raised after Wrap) count in an
// overflow stripe with atomic adds.
type counters struct {
	stripes  []stripe
	overflow stripe
}

func newCounters() *counters {
	return &counters{stripes: make([]stripe, 2*runtime.GOMAXPROCS(0))}
}

// add counts d events and returns the stripe's new count.
func (c *counters) add(i counter, d int64) int64 {
	p := procPin()
	if p >= len(c.stripes) {
		procUnpin()
		return c.addOverflow(i, d)
	}
	n := increment(&c.stripes[p].n[i], d)
	procUnpin()
	return n
}

//go:noinline
func (c *counters) addOverflow(i counter, d int64) int64 {
	return atomic.AddInt64(&c.overflow.n[i], d)
}

// sum returns every counter's total.
func (c *counters) sum() (total [numCounters]int64) {
	for s := range c.stripes {
		for i := range total {
			total[i] += atomic.LoadInt64(&c.stripes[s].n[i])
		}
	}
	for i := range total {
		total[i] += atomic.LoadInt64(&c.overflow.n[i])
	}
	return total
}
