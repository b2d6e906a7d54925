package mapx

import (
	"context"
	"iter"
	"maps"
	"runtime"
	"slices"
	"sync/atomic"
)

// Snapshot is a point-in-time, read-only view of a [Map]: an atomic cut across
// all shards. It holds every write that completed before [Map.Snapshot] began
// and none that started after it returned, and every iteration of it yields
// the same entries. Methods of a Snapshot are safe for concurrent use. Using
// a Snapshot after [Snapshot.Close] panics.
type Snapshot[K comparable, V any] struct {
	c       *core[K, V]
	st      *snapState[K, V]
	reads   []*table[K, V] // each shard's read table at the cut
	epoch   uint64
	obs     Observer
	n       atomic.Int64 // 1 + Len once counted
	cleanup runtime.Cleanup
}

// snapState is what releasing a snapshot needs; it must not point to the
// Snapshot, so that the garbage collector can find a forgotten one.
type snapState[K comparable, V any] struct {
	c      *core[K, V]
	epoch  uint64
	closed atomic.Bool
}

// Snapshot returns a point-in-time view of m. It copies no entries and costs
// time proportional to the number of shards. Writers that arrive while it is
// being taken wait until the writes already in flight have finished and each
// shard's read map has been captured; afterwards writers never wait for it,
// and it keeps alive only the old versions of entries written since. Close it when done; a
// Snapshot dropped without Close is released by the garbage collector.
func (m *Map[K, V]) Snapshot() *Snapshot[K, V] {
	c := m.core()
	c.snapMu.Lock()
	defer c.snapMu.Unlock()
	for i := range c.gates {
		c.gates[i].n.Or(gateClosed)
	}
	for i := range c.gates {
		for c.gates[i].n.Load() != gateClosed {
			runtime.Gosched() // a writer is still in flight
		}
	}
	// No write is in flight: this is the snapshot's instant.
	epoch := c.epoch.Load()
	c.open[epoch]++
	c.nOpen.Add(1)
	c.taken.openedLocked(epoch)
	c.publishOpenLocked()
	c.epoch.Store(epoch + 1)
	reads := make([]*table[K, V], len(c.shards))
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		if s.read.Load().amended {
			s.promoteLocked() // the read map then holds every key of the shard
		}
		reads[i] = &s.read.Load().t
		s.mu.Unlock()
	}
	for i := range c.gates {
		c.gates[i].n.And(^gateClosed)
	}
	st := &snapState[K, V]{c: c, epoch: epoch}
	snap := &Snapshot[K, V]{c: c, st: st, reads: reads, epoch: epoch, obs: c.loadObserver()}
	snap.cleanup = runtime.AddCleanup(snap, (*snapState[K, V]).release, st)
	return snap
}

func (st *snapState[K, V]) release() {
	if !st.closed.CompareAndSwap(false, true) {
		return
	}
	c := st.c
	c.snapMu.Lock()
	defer c.snapMu.Unlock()
	if c.open[st.epoch]--; c.open[st.epoch] == 0 {
		delete(c.open, st.epoch)
	}
	c.nOpen.Add(-1)
	c.taken.closedLocked(st.epoch)
	c.publishOpenLocked()
}

// publishOpenLocked gives writers the epochs of the open snapshots.
func (c *core[K, V]) publishOpenLocked() {
	if len(c.open) == 0 {
		c.openEpochs.Store(nil)
		return
	}
	epochs := slices.Sorted(maps.Keys(c.open))
	c.openEpochs.Store(&epochs)
}

// Close releases the snapshot. It is safe to call more than once.
func (s *Snapshot[K, V]) Close() {
	s.cleanup.Stop()
	s.st.release()
}

func (s *Snapshot[K, V]) check() {
	if s.st.closed.Load() {
		panic("mapx: Snapshot used after Close")
	}
}

// resolve returns the version of e visible at epoch.
func (c *core[K, V]) resolve(e *entry[K, V], epoch uint64) (v V, ok bool) {
	n := e.p.Load()
	for n != nil && n.epoch() > epoch {
		n = n.prev()
	}
	if n == nil {
		return v, false
	}
	return c.value(n)
}

// Load returns the value key had at the snapshot's cut.
func (s *Snapshot[K, V]) Load(key K) (value V, ok bool) {
	s.check()
	h := s.c.hashOf(key)
	e := s.reads[h>>s.c.shift].lookup(h, s.c.shardBits, key)
	if e == nil {
		return value, false
	}
	return s.c.resolve(e, s.epoch)
}

// Len returns the number of entries in the snapshot, exactly. The first call
// counts them; later calls return the count.
func (s *Snapshot[K, V]) Len() int {
	s.check()
	if n := s.n.Load(); n > 0 {
		return int(n - 1)
	}
	n := s.c.scan(context.Background(), s.shardTable, s.epoch, func(K, V) bool { return true }).Visited
	s.n.Store(int64(n) + 1)
	return n
}

// Range calls f for each entry of the snapshot until f returns false.
func (s *Snapshot[K, V]) Range(f func(key K, value V) bool) {
	s.check()
	s.c.iterate(context.Background(), s.obs, true, s.shardTable, s.epoch, f)
}

// RangeContext is [Snapshot.Range] that stops within 256 entries once ctx is
// done and then returns ctx.Err(). A stop asked for by f returns nil.
func (s *Snapshot[K, V]) RangeContext(ctx context.Context, f func(key K, value V) bool) error {
	s.check()
	return s.c.iterate(ctx, s.obs, true, s.shardTable, s.epoch, f)
}

func (s *Snapshot[K, V]) shardTable(i int) *table[K, V] { return s.reads[i] }

// All returns an iterator over the snapshot's entries.
func (s *Snapshot[K, V]) All() iter.Seq2[K, V] { return s.Range }

// Keys returns an iterator over the snapshot's keys.
func (s *Snapshot[K, V]) Keys() iter.Seq[K] { return keys(s.Range) }

// Values returns an iterator over the snapshot's values.
func (s *Snapshot[K, V]) Values() iter.Seq[V] { return values(s.Range) }
