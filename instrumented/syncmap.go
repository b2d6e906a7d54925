package instrumented

import (
	"context"
	"runtime"
	"sync"

	"github.com/mapx-dev/mapx"
)

// SyncMap is a [sync.Map] that reports to OpenTelemetry. It has sync.Map's
// method set and writes through to the wrapped map.
//
// It exports mapx.operations, mapx.operation.duration, mapx.iteration.duration
// and mapx.entries. The entry count is exact as long as every write goes
// through the SyncMap (it learns whether a write added or removed a key from
// Swap and LoadAndDelete); writes made directly to the wrapped map are not
// seen. Misses, promotions and the dirty map's size are not exported: since
// Go 1.24 sync.Map is a hash-trie with no read/dirty split, and it exposes no
// internals. Wrap a [mapx.Map] to see them.
type SyncMap struct {
	m *sync.Map
	t *telemetry
}

// WrapSyncMap returns m instrumented. Close it when m is no longer used.
func WrapSyncMap(m *sync.Map, opts ...Option) *SyncMap {
	if m == nil {
		panic("instrumented: WrapSyncMap(nil)")
	}
	cfg := newConfig(opts)
	w := &SyncMap{m: m}
	w.t = newTelemetry(cfg, nil, true)
	runtime.AddCleanup(w, func(t *telemetry) { _ = t.close() }, w.t)
	return w
}

// Unwrap returns the wrapped map.
func (w *SyncMap) Unwrap() *sync.Map { return w.m }

// Close stops exporting the map's metrics.
func (w *SyncMap) Close() error { return w.t.close() }

func (w *SyncMap) entries(d int64) { w.t.counts.add(cEntryDelta, d) }

// Load is [sync.Map.Load].
func (w *SyncMap) Load(key any) (value any, ok bool) {
	start := w.t.start()
	value, ok = w.m.Load(key)
	w.t.done(start, hitOrMiss(cLoadHit, ok), cLoadHit)
	return value, ok
}

// Store is [sync.Map.Store].
func (w *SyncMap) Store(key, value any) {
	start := w.t.start()
	if _, loaded := w.m.Swap(key, value); !loaded {
		w.entries(1)
	}
	w.t.done(start, cStore, cStore)
}

// LoadOrStore is [sync.Map.LoadOrStore].
func (w *SyncMap) LoadOrStore(key, value any) (actual any, loaded bool) {
	start := w.t.start()
	actual, loaded = w.m.LoadOrStore(key, value)
	if !loaded {
		w.entries(1)
	}
	w.t.done(start, hitOrMiss(cLoadOrStoreHit, loaded), cLoadOrStoreHit)
	return actual, loaded
}

// LoadAndDelete is [sync.Map.LoadAndDelete].
func (w *SyncMap) LoadAndDelete(key any) (value any, loaded bool) {
	start := w.t.start()
	value, loaded = w.m.LoadAndDelete(key)
	if loaded {
		w.entries(-1)
	}
	w.t.done(start, hitOrMiss(cLoadAndDeleteHit, loaded), cLoadAndDeleteHit)
	return value, loaded
}

// Delete is [sync.Map.Delete].
func (w *SyncMap) Delete(key any) {
	start := w.t.start()
	if _, loaded := w.m.LoadAndDelete(key); loaded {
		w.entries(-1)
	}
	w.t.done(start, cDelete, cDelete)
}

// Swap is [sync.Map.Swap].
func (w *SyncMap) Swap(key, value any) (previous any, loaded bool) {
	start := w.t.start()
	previous, loaded = w.m.Swap(key, value)
	if !loaded {
		w.entries(1)
	}
	w.t.done(start, hitOrMiss(cSwapHit, loaded), cSwapHit)
	return previous, loaded
}

// CompareAndSwap is [sync.Map.CompareAndSwap].
func (w *SyncMap) CompareAndSwap(key, old, new any) (swapped bool) {
	swapped = w.m.CompareAndSwap(key, old, new)
	w.t.count(okOrFailed(cCompareAndSwapOK, swapped))
	return swapped
}

// CompareAndDelete is [sync.Map.CompareAndDelete].
func (w *SyncMap) CompareAndDelete(key, old any) (deleted bool) {
	deleted = w.m.CompareAndDelete(key, old)
	if deleted {
		w.entries(-1)
	}
	w.t.count(okOrFailed(cCompareAndDeleteOK, deleted))
	return deleted
}

// Range is [sync.Map.Range], timed; see [SyncMap.RangeContext].
func (w *SyncMap) Range(f func(key, value any) bool) {
	_ = w.RangeContext(context.Background(), f)
}

// RangeContext is [sync.Map.Range], timed, traced as a child of ctx's span
// and run under ctx's profile labels plus mapx.name and mapx.operation. It
// stops when ctx is done, as [mapx.Map.RangeContext] does, and returns
// ctx's error then.
func (w *SyncMap) RangeContext(ctx context.Context, f func(key, value any) bool) error {
	w.t.count(cRange)
	ended := w.t.iterationStarted(ctx, false)
	it := mapx.Iteration{Outcome: mapx.Complete}
	done := ctx.Done()
	w.m.Range(func(k, v any) bool {
		if done != nil {
			select {
			case <-done:
				it.Outcome, it.Err = mapx.Cancelled, ctx.Err()
				return false
			default:
			}
		}
		it.Visited++
		if !f(k, v) {
			it.Outcome = mapx.Stopped
			return false
		}
		return true
	})
	ended(it)
	return it.Err
}

// Clear is [sync.Map.Clear]; see [SyncMap.ClearContext].
func (w *SyncMap) Clear() { w.ClearContext(context.Background()) }

// ClearContext is [sync.Map.Clear] traced as a child of ctx's span. The
// entry count drops by the keys it removes, which it counts first, so it is
// O(entries).
func (w *SyncMap) ClearContext(ctx context.Context) {
	_, _, end := w.t.longOp(ctx, "clear")
	defer end()
	w.m.Range(func(k, _ any) bool {
		if _, loaded := w.m.LoadAndDelete(k); loaded {
			w.entries(-1)
		}
		return true
	})
	w.t.count(cClear)
}
