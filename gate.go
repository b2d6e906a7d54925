package mapx

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

const gateClosed = 1 << 62

// gate counts the writers in flight in one stripe of goroutines; a snapshot
// sets gateClosed to hold new writers back while it waits for those in flight
// to finish. Each stripe has its own cache lines, so writers on different
// processors do not pass a line back and forth.
type gate struct {
	n atomic.Int64
	_ [2*cacheLine - 8]byte // two lines: the adjacent-line prefetcher pairs them
}

// enter registers a writer and returns its gate, which it must leave, and the
// epoch its writes carry. While a snapshot is being taken the gates are
// closed and enter waits: the snapshot's cut is the instant when no writer is
// in flight.
//
// The stripe comes from the address of the caller's stack, which differs
// between goroutines and stays the same for one goroutine at one call site:
// a cheap stand-in for the processor the goroutine runs on.
func (c *core[K, V]) enter() (*gate, uint64) {
	var local byte
	g := &c.gates[(uint64(uintptr(unsafe.Pointer(&local))>>10)*hashMul)>>c.gateShift]
	for {
		if g.n.Add(1)&gateClosed == 0 {
			return g, c.epoch.Load()
		}
		g.n.Add(-1)
		for g.n.Load()&gateClosed != 0 {
			runtime.Gosched()
		}
	}
}

func (g *gate) leave() { g.n.Add(-1) }
