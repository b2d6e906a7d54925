package instrumented

import (
	"context"
	"errors"
	"io"
	"iter"
	"runtime"
	"time"

	"github.com/mapx-dev/mapx"
)

// Map is a [mapx.Map] that reports to OpenTelemetry. It has every method of
// mapx.Map, with the same signatures and guarantees, plus [Map.Unwrap] and
// [Map.Close] — except SetObserver: the wrapper is the map's observer.
type Map[K comparable, V any] struct {
	m *mapx.Map[K, V]
	t *telemetry
}

// Wrap returns m instrumented: one line, and m's operations, entries, dirty
// map, misses, promotions, iterator cancellations, backpressure rejections
// and snapshots are exported as the mapx.* metrics, with spans for its long
// operations. It sets itself as m's [mapx.Observer]. Close the returned Map
// when m is no longer used, so that its series stop; one that is dropped
// without Close stops when the garbage collector finds it.
func Wrap[K comparable, V any](m *mapx.Map[K, V], opts ...Option) *Map[K, V] {
	if m == nil {
		panic("instrumented: Wrap(nil)")
	}
	cfg := newConfig(opts)
	t := newTelemetry(cfg, m.Stats, false)
	m.SetObserver(observer{t})
	w := &Map[K, V]{m: m, t: t}
	runtime.AddCleanup(w, func(t *telemetry) { _ = t.close() }, t)
	return w
}

// Unwrap returns the wrapped map. Loads made on it are counted and timed, as
// the map counts its own loads (see [Map.Load]); its other operations are
// not.
func (w *Map[K, V]) Unwrap() *mapx.Map[K, V] { return w.m }

// Close stops exporting the map's metrics and removes its observer. The map
// keeps working.
func (w *Map[K, V]) Close() error {
	w.m.SetObserver(nil)
	return w.t.close()
}

// Load is [mapx.Map.Load]. The wrapped map counts and times its own loads
// (a [mapx.LoadCounter] that the wrapper gives it), so that this method is
// the map's Load and the compiler inlines it: a wrapper's frame around the
// call would cost more than the count.
func (w *Map[K, V]) Load(key K) (value V, ok bool) {
	return w.m.Load(key)
}

// Store is [mapx.Map.Store].
func (w *Map[K, V]) Store(key K, value V) {
	start := w.t.start()
	w.m.Store(key, value)
	w.t.done(start, cStore, cStore)
}

// LoadOrStore is [mapx.Map.LoadOrStore]; a hit is a load.
func (w *Map[K, V]) LoadOrStore(key K, value V) (actual V, loaded bool) {
	start := w.t.start()
	actual, loaded = w.m.LoadOrStore(key, value)
	w.t.done(start, hitOrMiss(cLoadOrStoreHit, loaded), cLoadOrStoreHit)
	return actual, loaded
}

// LoadAndDelete is [mapx.Map.LoadAndDelete].
func (w *Map[K, V]) LoadAndDelete(key K) (value V, loaded bool) {
	start := w.t.start()
	value, loaded = w.m.LoadAndDelete(key)
	w.t.done(start, hitOrMiss(cLoadAndDeleteHit, loaded), cLoadAndDeleteHit)
	return value, loaded
}

// Delete is [mapx.Map.Delete].
func (w *Map[K, V]) Delete(key K) {
	start := w.t.start()
	w.m.Delete(key)
	w.t.done(start, cDelete, cDelete)
}

// Swap is [mapx.Map.Swap]; a hit means a previous value was loaded.
func (w *Map[K, V]) Swap(key K, value V) (previous V, loaded bool) {
	start := w.t.start()
	previous, loaded = w.m.Swap(key, value)
	w.t.done(start, hitOrMiss(cSwapHit, loaded), cSwapHit)
	return previous, loaded
}

// Compute is [mapx.Map.Compute].
func (w *Map[K, V]) Compute(key K, f func(old V, loaded bool) (newValue V, op mapx.ComputeOp)) (actual V, ok bool) {
	start := w.t.start()
	actual, ok = w.m.Compute(key, f)
	w.t.done(start, cCompute, cCompute)
	return actual, ok
}

// TryStore is [mapx.Map.TryStore]; the result is ok or rejected.
func (w *Map[K, V]) TryStore(key K, value V) error {
	start := w.t.start()
	err := w.m.TryStore(key, value)
	w.t.done(start, rejectedOr(cTryStoreOK, err), cTryStoreOK)
	return err
}

// StoreWait is [mapx.Map.StoreWait]; a wait for the insert rate is traced.
func (w *Map[K, V]) StoreWait(ctx context.Context, key K, value V) error {
	err := w.m.StoreWait(ctx, key, value)
	w.t.count(rejectedOr(cStoreWaitOK, err))
	return err
}

func rejectedOr(ok counter, err error) counter {
	if errors.Is(err, mapx.ErrBackpressure) {
		return ok + 1
	}
	return ok
}

// Range is [mapx.Map.Range], traced and timed.
func (w *Map[K, V]) Range(f func(key K, value V) bool) {
	w.t.count(cRange)
	w.m.Range(f)
}

// RangeContext is [mapx.Map.RangeContext], traced and timed.
func (w *Map[K, V]) RangeContext(ctx context.Context, f func(key K, value V) bool) error {
	w.t.count(cRange)
	return w.m.RangeContext(ctx, f)
}

// All is [mapx.Map.All].
func (w *Map[K, V]) All() iter.Seq2[K, V] { return w.Range }

// Keys is [mapx.Map.Keys].
func (w *Map[K, V]) Keys() iter.Seq[K] {
	return func(yield func(K) bool) { w.Range(func(k K, _ V) bool { return yield(k) }) }
}

// Values is [mapx.Map.Values].
func (w *Map[K, V]) Values() iter.Seq[V] {
	return func(yield func(V) bool) { w.Range(func(_ K, v V) bool { return yield(v) }) }
}

// Len is [mapx.Map.Len].
func (w *Map[K, V]) Len() int { return w.m.Len() }

// Clear is [mapx.Map.Clear]; see [Map.ClearContext].
func (w *Map[K, V]) Clear() { w.ClearContext(context.Background()) }

// ClearContext is [mapx.Map.Clear] traced as a child of ctx's span and run
// under ctx's profile labels plus mapx.name and mapx.operation.
func (w *Map[K, V]) ClearContext(ctx context.Context) {
	_, _, end := w.t.longOp(ctx, "clear")
	defer end()
	w.m.Clear()
	w.t.count(cClear)
}

// Snapshot is [mapx.Map.Snapshot], timed; see [Map.SnapshotContext].
// Iterations of the snapshot are traced and timed too.
func (w *Map[K, V]) Snapshot() *mapx.Snapshot[K, V] {
	return w.SnapshotContext(context.Background())
}

// SnapshotContext is [mapx.Map.Snapshot], timed, traced as a child of ctx's
// span and run under ctx's profile labels plus mapx.name and mapx.operation.
func (w *Map[K, V]) SnapshotContext(ctx context.Context) *mapx.Snapshot[K, V] {
	start := time.Now()
	ctx, _, end := w.t.longOp(ctx, "snapshot")
	s := w.m.Snapshot()
	end()
	w.t.g.recordDuration(ctx, mSnapshotDuration, time.Since(start).Seconds(), w.t.g.nameSet)
	w.t.count(cSnapshot)
	return s
}

// Stats is [mapx.Map.Stats].
func (w *Map[K, V]) Stats() mapx.Stats { return w.m.Stats() }

// CompareAndSwap is [mapx.CompareAndSwap] on an instrumented map.
func CompareAndSwap[K, V comparable](w *Map[K, V], key K, old, new V) bool {
	swapped := mapx.CompareAndSwap(w.m, key, old, new)
	w.t.count(okOrFailed(cCompareAndSwapOK, swapped))
	return swapped
}

// CompareAndDelete is [mapx.CompareAndDelete] on an instrumented map.
func CompareAndDelete[K, V comparable](w *Map[K, V], key K, old V) bool {
	deleted := mapx.CompareAndDelete(w.m, key, old)
	w.t.count(okOrFailed(cCompareAndDeleteOK, deleted))
	return deleted
}

func okOrFailed(ok counter, success bool) counter {
	if success {
		return ok
	}
	return ok + 1
}

// ReadFrom is [mapx.Map.ReadFrom]; see [Map.ReadFromContext].
func (w *Map[K, V]) ReadFrom(r io.Reader) (int64, error) {
	return w.ReadFromContext(context.Background(), r)
}

// ReadFromContext is [mapx.Map.ReadFrom] traced as a child of ctx's span
// (with error.type when it fails) and run under ctx's profile labels plus
// mapx.name and mapx.operation. ctx does not interrupt the read: wrap r for
// that.
func (w *Map[K, V]) ReadFromContext(ctx context.Context, r io.Reader, opts ...mapx.ReadOption) (int64, error) {
	_, span, end := w.t.longOp(ctx, "read_from")
	defer end()
	n, err := w.m.ReadFromWith(r, opts...)
	if err != nil {
		failed(span, err)
	}
	return n, err
}

// ReadFromWith is [mapx.Map.ReadFromWith]; see [Map.ReadFromContext].
func (w *Map[K, V]) ReadFromWith(r io.Reader, opts ...mapx.ReadOption) (int64, error) {
	return w.ReadFromContext(context.Background(), r, opts...)
}

// ReaderFrom is [mapx.Map.ReaderFrom]: an [io.ReaderFrom] that reads with
// opts, for stores that take one.
func (w *Map[K, V]) ReaderFrom(opts ...mapx.ReadOption) io.ReaderFrom {
	return readerFrom[K, V]{w: w, opts: opts}
}

type readerFrom[K comparable, V any] struct {
	w    *Map[K, V]
	opts []mapx.ReadOption
}

func (r readerFrom[K, V]) ReadFrom(rd io.Reader) (int64, error) {
	return r.w.ReadFromWith(rd, r.opts...)
}
