package mapx

import (
	"time"
	"unsafe"
)

// SetClock replaces the clock of m's insert-rate bucket, for tests that must
// not depend on the time they take.
func SetClock[K comparable, V any](m *Map[K, V], now func() time.Time) {
	b := m.core().bucket
	b.mu.Lock()
	defer b.mu.Unlock()
	b.now = now
	b.last = now()
}

// HistoryLen returns the number of versions kept for key, current one
// included, or 0 if the map has no entry for it.
func HistoryLen[K comparable, V any](m *Map[K, V], key K) int {
	e := entryOf(m, key)
	if e == nil {
		return 0
	}
	n := 0
	for p := e.p.Load(); p != nil; p = p.prev() {
		n++
	}
	return n
}

const CtxCheckEvery = ctxCheckEvery

// ShardSize is the size of one shard, which must be a whole number of cache
// lines so that neighbouring shards share none.
func ShardSize() uintptr { return unsafe.Sizeof(shard[string, int]{}) }

// ReadLineOffset is where the shard's lock-free read pointer's cache line
// ends: nothing a writer changes may sit before it.
func ReadLineOffset() uintptr { return unsafe.Offsetof(shard[string, int]{}.mu) }

// EntrySize and NodeSize are the sizes of an entry and of a version without
// history, for string keys and int values.
func EntrySize() uintptr { return unsafe.Sizeof(entry[string, int]{}) }
func NodeSize() uintptr  { return unsafe.Sizeof(node[int]{}) }

// DirtyViews reports, for each shard of m, whether the dirty table's groups
// that lookups prefetch (touchDirty) are the dirty table's own: nil when the
// shard has no dirty table, the same groups otherwise.
func DirtyViews[K comparable, V any](m *Map[K, V]) (shardsWithDirty int, stale int) {
	c := m.core()
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		v := s.dview.Load()
		switch {
		case s.dirty == nil:
			if v != nil {
				stale++
			}
		case v == nil || !v.sameGroups(s.dirty) || v.shift != s.dirty.shift:
			shardsWithDirty++
			stale++
		default:
			shardsWithDirty++
		}
		s.mu.Unlock()
	}
	return shardsWithDirty, stale
}

// DeadVersionsWithValues counts the versions reachable from m's tables,
// history included, that are deleted but hold a value other than the zero
// value. Load returns a version's value without asking whether it is live,
// so there must be none.
func DeadVersionsWithValues[K comparable, V comparable](m *Map[K, V]) int {
	c := m.core()
	var zero V
	bad := 0
	count := func(e *entry[K, V]) bool {
		for n := e.p.Load(); n != nil; n = n.prev() {
			if n.kind() != kindLive && n.v != zero {
				bad++
			}
		}
		return true
	}
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.read.Load().t.all(count)
		s.dirty.all(count)
		s.mu.Unlock()
	}
	return bad
}

// ValueInEntry reports whether key's current version is the one inside its
// entry, or false if the map has no entry for it.
func ValueInEntry[K comparable, V any](m *Map[K, V], key K) bool {
	e := entryOf(m, key)
	return e != nil && e.p.Load() == &e.first
}

// entryOf returns key's entry in its shard's read or dirty table, or nil.
func entryOf[K comparable, V any](m *Map[K, V], key K) *entry[K, V] {
	c := m.core()
	h := c.hashOf(key)
	s := c.shardOf(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := c.find(&s.read.Load().t, h, key)
	if !ok {
		e, _ = c.find(s.dirty, h, key)
	}
	return e
}

// LookupCopies looks key up with each hand-written copy of table.lookup and
// with lookup itself, in m's current read table: viaLoad is what Load's fast
// path returns, viaProbe what loadProbe returns; located reports whether
// locate found the entry that lookup finds (both nil counts as the same).
func LookupCopies[K comparable, V any](m *Map[K, V], key K) (viaLoad, viaProbe V, okLoad, okProbe, located bool) {
	viaLoad, okLoad = m.Load(key)
	viaProbe, okProbe = m.loadProbe(key)
	c, s, h, read, e := m.locate(key)
	located = e == read.t.lookup(h, c.shardBits, key) && s == c.shardOf(h)
	return viaLoad, viaProbe, okLoad, okProbe, located
}
