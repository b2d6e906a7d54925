package engine

import (
	"context"
	"fmt"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/instrumented"
	"github.com/mapx-dev/mapx/loadgen/impls"
	"github.com/puzpuzpuz/xsync/v4"
)

// Map is what the engine asks of every implementation. Keys and values are
// uint64: the engine measures the map, not the making of keys.
type Map interface {
	Load(key uint64) (uint64, bool)
	Store(key, value uint64)
	// TryStore stores through admission control where the implementation
	// has it (mapx); elsewhere it is Store and returns nil.
	TryStore(key, value uint64) error
	// Delete deletes key and reports whether it was there.
	Delete(key uint64) bool
	// Increment adds one to the value of key (inserting 1 if absent) in one
	// atomic read-modify-write.
	Increment(key uint64)
	// Scan reads the n keys from start on; with snapshots (mapx) it reads
	// them all in one snapshot, a consistent cut. It returns how many it
	// found.
	Scan(start uint64, n int) int
	// Iterate visits every entry of a snapshot (mapx) or of the live map
	// (others, weakly consistent) until f returns false or ctx is done; it
	// returns the number visited and ctx.Err() if it was cut short by ctx.
	Iterate(ctx context.Context, f func(key, value uint64) bool) (int, error)
	// Len returns the number of entries; for sync.Map it counts them with
	// Range, in time proportional to the size.
	Len() int
	// Stats returns the map's counters, and false for implementations that
	// have none.
	Stats() (mapx.Stats, bool)
	// Close releases the map's instruments, if any.
	Close() error
}

// MapOptions configure [NewMap].
type MapOptions = impls.Options

// An Impl is a map implementation under load: an entry of the list that
// loadgen and the bench module share ([impls.All]).
type Impl = impls.Impl

// Impls are the implementations, by -impl name.
var Impls = impls.All

// LookupImpl returns the implementation of that name, or an error that
// lists the valid names.
func LookupImpl(name string) (Impl, error) { return impls.Lookup(name) }

// ImplNames returns the names of [Impls], in order.
func ImplNames() []string { return impls.Names() }

// NewMap makes an empty map of the named implementation.
func NewMap(impl string, o MapOptions) (Map, error) {
	m, err := impls.New[uint64, uint64](impl, o)
	if err != nil {
		return nil, err
	}
	switch m := m.(type) {
	case *mapx.Map[uint64, uint64]:
		return &mapxMap{m: m}, nil
	case *instrumented.Map[uint64, uint64]:
		return &mapxMap{m: m, close: m.Close}, nil
	case *impls.SyncMap[uint64, uint64]:
		return &syncMap{m: m.Unwrap()}, nil
	case *impls.InstrumentedSyncMap[uint64, uint64]:
		return &syncMap{m: m.Unwrap(), close: m.Close}, nil
	case *xsync.Map[uint64, uint64]:
		return &xsyncMap{m: m}, nil
	case *impls.RWMap[uint64, uint64]:
		return &rwMap{m: m}, nil
	}
	return nil, fmt.Errorf("loadgen cannot drive %s (%T)", impl, m)
}

// mapxLike is what *mapx.Map and *instrumented.Map have in common.
type mapxLike interface {
	Load(key uint64) (uint64, bool)
	Store(key, value uint64)
	TryStore(key, value uint64) error
	LoadAndDelete(key uint64) (uint64, bool)
	Compute(key uint64, f func(old uint64, loaded bool) (uint64, mapx.ComputeOp)) (uint64, bool)
	Snapshot() *mapx.Snapshot[uint64, uint64]
	Len() int
	Stats() mapx.Stats
}

type mapxMap struct {
	m     mapxLike
	close func() error
}

func (a *mapxMap) Load(k uint64) (uint64, bool)             { return a.m.Load(k) }
func (a *mapxMap) Store(k, v uint64)                        { a.m.Store(k, v) }
func (a *mapxMap) TryStore(k, v uint64) error               { return a.m.TryStore(k, v) }
func (a *mapxMap) Delete(k uint64) bool                     { _, ok := a.m.LoadAndDelete(k); return ok }
func (a *mapxMap) Len() int                                 { return a.m.Len() }
func (a *mapxMap) Stats() (mapx.Stats, bool)                { return a.m.Stats(), true }
func (a *mapxMap) Increment(k uint64)                       { a.m.Compute(k, increment) }
func increment(old uint64, _ bool) (uint64, mapx.ComputeOp) { return old + 1, mapx.UpdateOp }

func (a *mapxMap) Scan(start uint64, n int) int {
	s := a.m.Snapshot()
	defer s.Close()
	return scanLoads(s.Load, start, n)
}

func (a *mapxMap) Iterate(ctx context.Context, f func(k, v uint64) bool) (int, error) {
	s := a.m.Snapshot()
	defer s.Close()
	n := 0
	err := s.RangeContext(ctx, func(k, v uint64) bool { n++; return f(k, v) })
	return n, err
}

func (a *mapxMap) Close() error {
	if a.close != nil {
		return a.close()
	}
	return nil
}

// syncLike is what *sync.Map and *instrumented.SyncMap have in common.
type syncLike interface {
	Load(key any) (any, bool)
	Store(key, value any)
	LoadOrStore(key, value any) (any, bool)
	CompareAndSwap(key, old, new any) bool
	LoadAndDelete(key any) (any, bool)
	Range(f func(key, value any) bool)
}

type syncMap struct {
	m     syncLike
	close func() error
}

func (a *syncMap) Load(k uint64) (uint64, bool) {
	v, ok := a.m.Load(k)
	if !ok {
		return 0, false
	}
	return v.(uint64), true
}
func (a *syncMap) Store(k, v uint64)          { a.m.Store(k, v) }
func (a *syncMap) TryStore(k, v uint64) error { a.m.Store(k, v); return nil }
func (a *syncMap) Delete(k uint64) bool       { _, ok := a.m.LoadAndDelete(k); return ok }
func (a *syncMap) Stats() (mapx.Stats, bool)  { return mapx.Stats{}, false }

func (a *syncMap) Increment(k uint64) {
	for {
		old, loaded := a.m.LoadOrStore(k, uint64(1))
		if !loaded || a.m.CompareAndSwap(k, old, old.(uint64)+1) {
			return
		}
	}
}

func (a *syncMap) Scan(start uint64, n int) int { return scanLoads(a.Load, start, n) }

func (a *syncMap) Iterate(ctx context.Context, f func(k, v uint64) bool) (int, error) {
	return rangeContext(ctx, func(yield func(k, v uint64) bool) {
		a.m.Range(func(k, v any) bool { return yield(k.(uint64), v.(uint64)) })
	}, f)
}

func (a *syncMap) Len() int {
	n := 0
	a.m.Range(func(any, any) bool { n++; return true })
	return n
}

func (a *syncMap) Close() error {
	if a.close != nil {
		return a.close()
	}
	return nil
}

type xsyncMap struct{ m *xsync.Map[uint64, uint64] }

func (a *xsyncMap) Load(k uint64) (uint64, bool)                  { return a.m.Load(k) }
func (a *xsyncMap) Store(k, v uint64)                             { a.m.Store(k, v) }
func (a *xsyncMap) TryStore(k, v uint64) error                    { a.m.Store(k, v); return nil }
func (a *xsyncMap) Delete(k uint64) bool                          { _, ok := a.m.LoadAndDelete(k); return ok }
func (a *xsyncMap) Len() int                                      { return a.m.Size() }
func (a *xsyncMap) Stats() (mapx.Stats, bool)                     { return mapx.Stats{}, false }
func (a *xsyncMap) Close() error                                  { return nil }
func (a *xsyncMap) Scan(start uint64, n int) int                  { return scanLoads(a.Load, start, n) }
func (a *xsyncMap) Increment(k uint64)                            { a.m.Compute(k, xsyncIncrement) }
func xsyncIncrement(old uint64, _ bool) (uint64, xsync.ComputeOp) { return old + 1, xsync.UpdateOp }

func (a *xsyncMap) Iterate(ctx context.Context, f func(k, v uint64) bool) (int, error) {
	return rangeContext(ctx, a.m.Range, f)
}

// rwMap is a Go map behind a sync.RWMutex, the usual hand-written baseline.
type rwMap struct{ m *impls.RWMap[uint64, uint64] }

func (a *rwMap) Load(k uint64) (uint64, bool) { return a.m.Load(k) }
func (a *rwMap) Store(k, v uint64)            { a.m.Store(k, v) }
func (a *rwMap) TryStore(k, v uint64) error   { a.m.Store(k, v); return nil }
func (a *rwMap) Delete(k uint64) bool         { _, ok := a.m.LoadAndDelete(k); return ok }
func (a *rwMap) Increment(k uint64)           { a.m.Compute(k, rwIncrement) }
func rwIncrement(old uint64, _ bool) uint64   { return old + 1 }
func (a *rwMap) Stats() (mapx.Stats, bool)    { return mapx.Stats{}, false }
func (a *rwMap) Close() error                 { return nil }
func (a *rwMap) Len() int                     { return a.m.Len() }

// Scan holds the read lock for the whole scan, so it is consistent too.
func (a *rwMap) Scan(start uint64, n int) int {
	found := 0
	a.m.View(func(m map[uint64]uint64) {
		found = scanLoads(func(k uint64) (uint64, bool) { v, ok := m[k]; return v, ok }, start, n)
	})
	return found
}

// Iterate holds the read lock throughout: writers wait for it.
func (a *rwMap) Iterate(ctx context.Context, f func(k, v uint64) bool) (int, error) {
	return rangeContext(ctx, a.m.Range, f)
}

func scanLoads(load func(uint64) (uint64, bool), start uint64, n int) int {
	found := 0
	for k := start; k < start+uint64(n); k++ {
		if _, ok := load(k); ok {
			found++
		}
	}
	return found
}

// rangeContext runs a Range that knows no context, looking at ctx every 64
// entries as mapx's RangeContext does.
func rangeContext(ctx context.Context, rangeFn func(func(k, v uint64) bool), f func(k, v uint64) bool) (int, error) {
	n := 0
	var err error
	rangeFn(func(k, v uint64) bool {
		if n%64 == 0 {
			if err = ctx.Err(); err != nil {
				return false
			}
		}
		n++
		return f(k, v)
	})
	return n, err
}
