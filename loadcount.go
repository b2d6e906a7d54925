package mapx

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"
)

// A LoadCounter counts a map's loads, hits and misses, exactly, and times
// some of them. Package instrumented gives one to the maps it wraps, so that
// a map counts its own loads: a wrapper's Load would cost a call frame more
// than the count itself.
//
// A map counts its loads into the LoadCounter its [Observer] returns from a
// method LoadCounter() *LoadCounter, if it has one, from [Map.SetObserver]
// on; loads of snapshots are not counted. Counting costs one atomic add per
// load, on a stripe of goroutines with its own cache lines; a map whose
// observer has no LoadCounter pays two nil tests.
type LoadCounter struct {
	flags atomic.Uint32 // lcCounting | lcTimeNext
	mask  int64         // time the next load when a stripe's count is a multiple of mask+1; -1: never
	_     [cacheLine - 12]byte

	stripes []loadStripe
	timed   func(d time.Duration, hit bool)
}

// Bits of LoadCounter.flags.
const (
	lcCounting = 1 << iota
	lcTimeNext
)

// loadStripe is the counts of one stripe of goroutines, on two cache lines
// of its own: the adjacent-line prefetcher pairs lines.
type loadStripe struct {
	n [2]atomic.Int64 // hits, misses
	_ [2*cacheLine - 16]byte
}

// NewLoadCounter returns a LoadCounter that counts nothing until
// [LoadCounter.SetCounting]. While it counts, if timeEvery > 0 and timed is
// not nil, it times a load whenever a stripe's count of hits or of misses
// reaches a multiple of timeEvery (about one load in timeEvery), and the
// next load after each [LoadCounter.TimeNext], and calls timed with its
// duration and whether it was a hit. timeEvery must be 0 or a power of two:
// otherwise NewLoadCounter panics.
func NewLoadCounter(timeEvery int, timed func(d time.Duration, hit bool)) *LoadCounter {
	if timeEvery < 0 || timeEvery&(timeEvery-1) != 0 {
		panic(fmt.Sprintf("mapx: NewLoadCounter: timeEvery %d is not 0 or a power of two", timeEvery))
	}
	// Four stripes a processor: goroutines share one only by chance.
	n := 16
	for n < 4*runtime.GOMAXPROCS(0) {
		n *= 2
	}
	lc := &LoadCounter{mask: int64(timeEvery) - 1, stripes: make([]loadStripe, n), timed: timed}
	if timed == nil || timeEvery == 0 {
		lc.mask = -1
	}
	return lc
}

// SetCounting starts or stops counting, and timing.
func (lc *LoadCounter) SetCounting(on bool) {
	if !on {
		lc.flags.And(^uint32(lcCounting))
		return
	}
	f := uint32(lcCounting)
	if lc.mask == 0 {
		f |= lcTimeNext // every load is timed, the first one too
	}
	lc.flags.Or(f)
}

// TimeNext makes the next load counted time itself, if the LoadCounter
// times loads.
func (lc *LoadCounter) TimeNext() {
	if lc.mask >= 0 {
		lc.flags.Or(lcTimeNext)
	}
}

// Counts returns the loads counted so far. Loads in flight may or may not
// be counted.
func (lc *LoadCounter) Counts() (hits, misses int64) {
	for i := range lc.stripes {
		hits += lc.stripes[i].n[0].Load()
		misses += lc.stripes[i].n[1].Load()
	}
	return hits, misses
}

// count counts one load. The stripe comes from the address of the caller's
// stack, as for the gates (gate.go): procPin would add two calls to every
// load.
func (lc *LoadCounter) count(hit bool) {
	if lc.flags.Load()&lcCounting == 0 {
		return
	}
	var local byte
	st := &lc.stripes[uintptr(unsafe.Pointer(&local))>>13&uintptr(len(lc.stripes)-1)]
	n := &st.n[0]
	if !hit {
		n = &st.n[1]
	}
	if n.Add(1)&lc.mask == 0 {
		lc.TimeNext()
	}
}

// countLoad counts a load in the map's LoadCounter (c.loads), if it has one.
// It is a function, not a method of core: the compiler inlines it only
// outside generic code.
func countLoad(loads *atomic.Pointer[LoadCounter], hit bool) {
	if lc := loads.Load(); lc != nil {
		lc.count(hit)
	}
}

// loadTimed is Load when the LoadCounter asks for the next load to be timed.
//
//go:noinline
func (m *Map[K, V]) loadTimed(lc *LoadCounter, key K) (value V, ok bool) {
	if lc.flags.And(^uint32(lcTimeNext))&lcTimeNext == 0 {
		return m.Load(key) // another load took the turn
	}
	start := time.Now()
	value, ok = m.Load(key)
	lc.timed(time.Since(start), ok)
	return value, ok
}
