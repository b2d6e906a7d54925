package mapx

import (
	"sync"
	"sync/atomic"
)

type readOnly[K comparable, V any] struct {
	t       table[K, V] // a copy of the promoted dirty table's header
	amended bool        // the dirty table holds keys that t lacks
}

// shard is one read/dirty map. The first cache line holds what Load reads;
// what writers change lives on the following lines.
type shard[K comparable, V any] struct {
	read  atomic.Pointer[readOnly[K, V]]
	dview atomic.Pointer[table[K, V]] // the dirty table's groups, for touchDirty; nil if none
	_     [cacheLine - 16]byte

	mu     sync.Mutex
	dirty  *table[K, V]
	misses int

	count      atomic.Int64 // live entries
	dirtyLen   atomic.Int64
	readMisses atomic.Int64
	promotions atomic.Int64
	fresh      int // keys put into the dirty table since it was made (promote.go)
	// The writer fields fill the second cache line exactly (TestShardLayout).
}

const cacheLine = 64

// dirtyLocked makes the dirty table from the read table.
func (c *core[K, V]) dirtyLocked(s *shard[K, V]) {
	if s.dirty != nil {
		return
	}
	read := s.read.Load()
	// The read table holds every key of the shard. While at most half of
	// them are deleted, copy it slot for slot: deleted entries may stay in
	// the dirty table, and the copy touches no entry, where leaving them out
	// takes a cache miss per entry. Otherwise leave them out, which
	// must look at every entry, in a table sized as rehash sizes it, so that
	// the inserts that follow do not rehash it at once.
	live := int(s.count.Load())
	if dead := read.t.len() - live; dead*2 <= read.t.len() {
		s.dirty = read.t.clone()
	} else {
		s.dirty = grownTable[K, V](live)
		for i := range read.t.groups {
			c.copyLive(s.dirty, &read.t.groups[i])
		}
	}
	s.dirtyGrew()
}

// copyLive inserts the live entries of g into t and expunges the others. It
// reads the versions of all the group's entries before it expunges any: an
// expunge is a compare-and-swap, which waits for every load before it, so
// one per entry as it comes would wait for each entry's cache miss in turn.
func (c *core[K, V]) copyLive(t *table[K, V], g *group[K, V]) {
	var dead uint8
	for j, e := range g.e {
		if e != nil && e.p.Load().kind() != kindLive {
			dead |= 1 << j
		}
	}
	for j, e := range g.e {
		if e != nil && (dead&(1<<j) == 0 || !c.expungeLocked(e)) {
			t.insertUnshared(e, c.shardBits)
		}
	}
}

// dirtyGrew records a change in the size of the dirty table, and in its
// groups if it was rehashed.
func (s *shard[K, V]) dirtyGrew() {
	s.dirtyLen.Store(int64(s.dirty.len()))
	if v := s.dview.Load(); v == nil || !v.sameGroups(s.dirty) {
		view := *s.dirty
		s.dview.Store(&view)
	}
}

// touchDirty starts loading the group of the dirty table where a probe for
// h begins, if the shard has a dirty table, so that a write or a load that
// finds no entry in the read table, and goes on to the dirty table under the
// lock, finds that group in cache: the two tables' cache misses overlap
// instead of following each other.
func (s *shard[K, V]) touchDirty(h uint64, shardBits uint8) {
	if v := s.dview.Load(); v != nil {
		atomic.LoadUint64(&v.groups[v.index(h, shardBits)].ctrl) // the value does not matter
	}
}

// expungeLocked marks a deleted entry as absent from the dirty table and
// reports whether it is deleted (a lock-free writer may revive it first).
func (c *core[K, V]) expungeLocked(e *entry[K, V]) bool {
	n := e.p.Load()
	switch n.kind() {
	case kindExpunged:
		return true
	case kindTomb:
		if e.p.CompareAndSwap(n, c.expungedOf(n)) {
			return true
		}
		return e.p.Load().kind() != kindLive
	}
	return false
}
