package mapx

import (
	"context"
	"iter"
	"math"
)

// Range calls f for each entry of m until f returns false. Like sync.Map's
// Range it is weakly consistent: it visits each key at most once, and may or
// may not see writes made while it runs. For a consistent view, iterate a
// [Map.Snapshot].
func (m *Map[K, V]) Range(f func(key K, value V) bool) {
	c := m.core()
	c.iterate(context.Background(), c.loadObserver(), false, c.liveTable, latest, f)
}

// RangeContext is [Map.Range] that stops within 256 entries once ctx is done
// and then returns ctx.Err(); each such stop is counted in
// [Stats].IteratorCancellations. A stop asked for by f returns nil.
func (m *Map[K, V]) RangeContext(ctx context.Context, f func(key K, value V) bool) error {
	c := m.core()
	return c.iterate(ctx, c.loadObserver(), false, c.liveTable, latest, f)
}

// All returns an iterator over the entries of m, with the guarantees of
// [Map.Range].
func (m *Map[K, V]) All() iter.Seq2[K, V] { return m.Range }

// Keys returns an iterator over the keys of m, with the guarantees of
// [Map.Range].
func (m *Map[K, V]) Keys() iter.Seq[K] { return keys(m.Range) }

// Values returns an iterator over the values of m, with the guarantees of
// [Map.Range].
func (m *Map[K, V]) Values() iter.Seq[V] { return values(m.Range) }

func keys[K, V any](r func(func(K, V) bool)) iter.Seq[K] {
	return func(yield func(K) bool) { r(func(k K, _ V) bool { return yield(k) }) }
}

func values[K, V any](r func(func(K, V) bool)) iter.Seq[V] {
	return func(yield func(V) bool) { r(func(_ K, v V) bool { return yield(v) }) }
}

// latest is an epoch newer than any version: resolving at it gives the
// current value.
const latest = math.MaxUint64 >> epochShift

// ctxCheckEvery is how many entries an iteration visits between two looks at
// its context; it must stay at most 256, the documented bound.
const ctxCheckEvery = 64

// liveTable returns shard i's read table, first promoting its dirty table so
// that the read table holds every key.
func (c *core[K, V]) liveTable(i int) *table[K, V] {
	s := &c.shards[i]
	read := s.read.Load()
	if read.amended {
		s.mu.Lock()
		if read = s.read.Load(); read.amended {
			s.promoteLocked()
			read = s.read.Load()
		}
		s.mu.Unlock()
	}
	return &read.t
}

// iterate calls f for each entry of the shard tables that is live at epoch,
// telling obs (if any) when it starts and ends.
func (c *core[K, V]) iterate(ctx context.Context, obs Observer, snapshot bool, shardTable func(int) *table[K, V], epoch uint64, f func(K, V) bool) error {
	var ended func(Iteration)
	if obs != nil {
		ended = obs.IterationStarted(ctx, snapshot)
	}
	it := c.scan(ctx, shardTable, epoch, f)
	if ended != nil {
		ended(it)
	}
	return it.Err
}

func (c *core[K, V]) scan(ctx context.Context, shardTable func(int) *table[K, V], epoch uint64, f func(K, V) bool) (it Iteration) {
	done := ctx.Done()
	cancelled := func() bool {
		select {
		case <-done:
			c.iterCancels.Add(1)
			it.Outcome, it.Err = Cancelled, ctx.Err()
			return true
		default:
			return false
		}
	}
	if done != nil && cancelled() {
		return it
	}
	scanned := 0
	for i := range c.shards {
		for e := range shardTable(i).all {
			if scanned++; done != nil && scanned%ctxCheckEvery == 0 && cancelled() {
				return it
			}
			if v, ok := c.resolve(e, epoch); ok {
				it.Visited++
				if !f(e.key, v) {
					it.Outcome = Stopped
					return it
				}
			}
		}
	}
	return it
}
