package mapx

import (
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// Map is a concurrent map from K to V, safe for use by many goroutines
// without further locking. The zero Map is empty and ready to use; [New]
// configures one. A Map must not be copied after first use.
//
// See the package documentation for its guarantees.
type Map[K comparable, V any] struct {
	_    noCopy
	c    atomic.Pointer[core[K, V]]
	once sync.Mutex // guards the lazy initialisation of a zero Map
}

// ComputeOp tells [Map.Compute] what to do with the value its function
// returned.
type ComputeOp int

const (
	// UpdateOp stores the returned value (inserting the key if absent).
	UpdateOp ComputeOp = iota
	// DeleteOp deletes the key if present.
	DeleteOp
	// CancelOp leaves the map unchanged.
	CancelOp
)

func (op ComputeOp) String() string {
	switch op {
	case UpdateOp:
		return "UpdateOp"
	case DeleteOp:
		return "DeleteOp"
	case CancelOp:
		return "CancelOp"
	}
	return fmt.Sprintf("ComputeOp(%d)", int(op))
}

// Load returns the value stored for key, or the zero value and false.
func (m *Map[K, V]) Load(key K) (value V, ok bool) {
	// The common case written out: the key's first group of the read table
	// has one tag that matches, and it is the key's entry; or none, and the
	// group has an empty slot (then the key is not in the read table, and
	// only an amended shard's dirty table can hold it: loadSlow). Anything
	// else starts over in loadProbe.
	// Without calls, and with little alive across the comparison of keys
	// (which the compiler spills around its call to memequal), a load runs in
	// fewer instructions, so the processor overlaps more of the cache misses
	// of consecutive loads (bench/README.md has the measurements).
	// keep in step with table.lookup (FuzzLookupCopies)
	c := m.c.Load()
	if c == nil {
		return m.loadProbe(key)
	}
	if lc := c.loads.Load(); lc != nil && lc.flags.Load() > lcCounting {
		return m.loadTimed(lc, key)
	}
	var h uint64
	if c.hash == nil {
		h = maphash.Comparable(c.seed, key)
	} else {
		h = c.hash(key)
	}
	h *= hashMul
	s := c.shardOf(h)
	read := s.read.Load()
	s.touchDirty(h, c.shardBits)
	t := &read.t
	if len(t.groups) == 0 {
		return m.loadProbe(key)
	}
	g := &t.groups[t.index(h, c.shardBits)]
	mt := g.matches(tagOf(h))
	if mt == 0 {
		if g.matches(ctrlEmpty) == 0 {
			return m.loadProbe(key)
		}
		if !read.amended {
			countLoad(&c.loads, false)
			return value, false
		}
		return m.loadSlow(c, s, h, key, read)
	}
	if mt&(mt-1) == 0 {
		if e := g.e[slotOf(mt)]; e != nil && e.hi == hashHi(h) && e.key == key {
			value, ok = c.value(e.p.Load())
			countLoad(&c.loads, ok)
			return value, ok
		}
	}
	return m.loadProbe(key)
}

// loadProbe is Load for what its fast path leaves: more than one matching
// tag, a full group, a tag that matches another key, or a map not yet
// initialised.
//
//go:noinline
func (m *Map[K, V]) loadProbe(key K) (value V, ok bool) {
	c, s, h, read, e := m.locate(key)
	if e != nil {
		value, ok = c.value(e.p.Load())
		countLoad(&c.loads, ok)
		return value, ok
	}
	if !read.amended {
		countLoad(&c.loads, false)
		return value, false
	}
	return m.loadSlow(c, s, h, key, read)
}

// locate hashes key, picks its shard and looks it up in the shard's read
// table. Every operation starts here, so it is written out by hand: the
// compiler inlines little into generic code (core, hashOf and table.lookup
// stay calls), and each call would cost as much as the probe.
func (m *Map[K, V]) locate(key K) (c *core[K, V], s *shard[K, V], h uint64, read *readOnly[K, V], e *entry[K, V]) {
	c = m.c.Load()
	if c == nil {
		c = m.initSlow()
	}
	if c.hash == nil {
		h = maphash.Comparable(c.seed, key)
	} else {
		h = c.hash(key)
	}
	h *= hashMul
	s = c.shardOf(h)
	read = s.read.Load()
	s.touchDirty(h, c.shardBits)
	t := &read.t
	if len(t.groups) == 0 {
		return
	}
	// keep in step with table.lookup (FuzzLookupCopies)
	mask := uint64(len(t.groups) - 1)
	tag := tagOf(h)
	for i := t.index(h, c.shardBits); ; i = (i + 1) & mask {
		g := &t.groups[i&mask]
		for m := g.matches(tag); m != 0; m &= m - 1 {
			if x := g.e[slotOf(m)]; x != nil && x.hi == hashHi(h) && x.key == key {
				return c, s, h, read, x
			}
		}
		if g.matches(ctrlEmpty) != 0 {
			return
		}
	}
}

// loadSlow is Load for a key missing from the read table of its shard s
// while the dirty table holds keys the read table lacks.
func (m *Map[K, V]) loadSlow(c *core[K, V], s *shard[K, V], h uint64, key K, read *readOnly[K, V]) (value V, ok bool) {
	s.mu.Lock()
	e, found := (*entry[K, V])(nil), false
	if r := s.read.Load(); r != read { // promoted meanwhile
		read = r
		e, found = c.find(&read.t, h, key)
	}
	if !found && read.amended {
		e, found = c.find(s.dirty, h, key)
		s.missLocked(false)
	}
	s.mu.Unlock()
	if found {
		value, ok = c.value(e.p.Load())
	}
	countLoad(&c.loads, ok)
	return value, ok
}

// Store sets the value for key.
func (m *Map[K, V]) Store(key K, value V) {
	m.swap(key, value, false)
}

// Swap stores value for key and returns the previous value, if any.
func (m *Map[K, V]) Swap(key K, value V) (previous V, loaded bool) {
	return m.swap(key, value, true)
}

// swap is Swap, and Store when needPrev is false.
func (m *Map[K, V]) swap(key K, value V, needPrev bool) (previous V, loaded bool) {
	w := m.beginWrite(key)
	defer w.g.leave()
	if w.e != nil {
		if prev, loaded, ok := w.c.trySwap(w.s, w.e, w.ep, value, true, needPrev); ok {
			return prev, loaded
		}
	}
	r := w.locked(key, mutation[V]{op: UpdateOp, value: value})
	return r.old, r.loaded
}

// LoadOrStore returns the existing value for key if present. Otherwise it
// stores value and returns it. loaded is true if the value was loaded.
func (m *Map[K, V]) LoadOrStore(key K, value V) (actual V, loaded bool) {
	c, s, h, read, e := m.locate(key)
	ok := e != nil
	if ok {
		if n := e.p.Load(); n.kind() == kindLive {
			return c.load(n), true
		}
	}
	g, ep := c.enter()
	defer g.leave()
	r := c.mutateLocked(s, h, key, ep, absent(read, ok), mutation[V]{op: UpdateOp, value: value, onlyIfAbsent: true, miss: true})
	if r.loaded {
		return r.old, true
	}
	return value, false
}

// LoadAndDelete deletes key and returns its previous value, if any.
func (m *Map[K, V]) LoadAndDelete(key K) (value V, loaded bool) {
	return m.loadAndDelete(key, true)
}

// Delete deletes the value for key.
func (m *Map[K, V]) Delete(key K) {
	m.loadAndDelete(key, false)
}

// loadAndDelete is LoadAndDelete, and Delete when needValue is false.
func (m *Map[K, V]) loadAndDelete(key K, needValue bool) (value V, loaded bool) {
	c, s, h, read, e := m.locate(key)
	ok := e != nil
	if !ok && !read.amended {
		return value, false
	}
	g, ep := c.enter()
	defer g.leave()
	if ok {
		for {
			old, pinned := c.acquire(e, needValue)
			if old.kind() != kindLive {
				c.release(e, pinned)
				return value, false
			}
			deleted := c.deleteLive(s, e, old, ep)
			if needValue {
				value = c.load(old)
			}
			c.release(e, pinned)
			if deleted {
				c.deletedLockFree(s)
				return value, true
			}
		}
	}
	r := c.mutateLocked(s, h, key, ep, read, mutation[V]{op: DeleteOp, miss: true})
	return r.old, r.loaded
}

// Compute atomically reads the value of key and replaces it by what f
// returns, as op says: [UpdateOp] stores newValue, [DeleteOp] deletes the key,
// [CancelOp] leaves the map unchanged. It returns the value present afterwards
// and whether there is one.
//
// f may be called more than once if other goroutines write the same key at
// the same time; only the last call takes effect. f must not call methods of
// this map.
func (m *Map[K, V]) Compute(key K, f func(old V, loaded bool) (newValue V, op ComputeOp)) (actual V, ok bool) {
	w := m.beginWrite(key)
	defer w.g.leave()
	if c, s, e, ep := w.c, w.s, w.e, w.ep; e != nil {
		for {
			old, pinned := c.acquire(e, true)
			if old.kind() != kindLive {
				c.release(e, pinned)
				break
			}
			done, actual, ok, nn := c.computeLive(s, e, old, ep, f)
			c.release(e, pinned)
			if done {
				c.moveBack(e, nn)
				return actual, ok
			}
		}
	}
	r := w.locked(key, mutation[V]{compute: f, miss: true})
	return r.now, r.present
}

// Clear deletes all the entries. It is atomic shard by shard, not across
// shards, and takes time proportional to the number of entries.
func (m *Map[K, V]) Clear() {
	c := m.core()
	for i := range c.shards {
		s := &c.shards[i]
		if r := s.read.Load(); r.t.len() == 0 && !r.amended {
			continue // empty: clearing it now or at this instant is the same
		}
		g, ep := c.enter()
		s.mu.Lock()
		removed := int64(0)
		read := s.read.Load()
		// Entries left out of the new tables are marked expunged, so that
		// no lock-free writer revives one of them.
		clearEntries := func(t *table[K, V]) {
			for e := range t.all {
				for {
					old := e.p.Load()
					if old.kind() == kindExpunged {
						break
					}
					var x *node[V]
					if old.kind() == kindLive {
						x = c.deadNode(old, ep, kindExpunged)
					} else {
						x = c.expungedOf(old)
					}
					if e.p.CompareAndSwap(old, x) {
						if old.kind() == kindLive {
							removed++
						}
						break
					}
				}
			}
		}
		clearEntries(&read.t)
		if read.amended {
			clearEntries(s.dirty)
		}
		s.read.Store(c.emptyRead)
		s.dirty = nil
		s.dview.Store(nil)
		s.misses = 0
		s.fresh = 0
		s.dirtyLen.Store(0)
		c.addCount(s, -removed)
		s.mu.Unlock()
		g.leave()
	}
}

// Len returns the number of entries. It is exact when no write is in flight
// and takes time proportional to the number of shards.
func (m *Map[K, V]) Len() int {
	c := m.core()
	var n int64
	for i := range c.shards {
		n += c.shards[i].count.Load()
	}
	return int(n)
}

// CompareAndSwap swaps the old and new values for key if the value stored in
// m is equal to old. It is a function rather than a method because it needs V
// to be comparable.
func CompareAndSwap[K, V comparable](m *Map[K, V], key K, old, new V) (swapped bool) {
	return compareAnd(m, key, old, UpdateOp, new)
}

// CompareAndDelete deletes the entry for key if its value is equal to old. It
// is a function rather than a method because it needs V to be comparable.
func CompareAndDelete[K, V comparable](m *Map[K, V], key K, old V) (deleted bool) {
	var zero V
	return compareAnd(m, key, old, DeleteOp, zero)
}

// compareAnd applies op (UpdateOp with new, or DeleteOp) to key if its value
// is old, and reports whether it did.
func compareAnd[K, V comparable](m *Map[K, V], key K, old V, op ComputeOp, new V) bool {
	c, s, h, read, e := m.locate(key)
	if e == nil && !read.amended {
		return false // the key is in neither table
	}
	w := beginAt(c, s, h, read, e)
	defer w.g.leave()
	if ep := w.ep; e != nil {
		for {
			n, pinned := c.acquire(e, true)
			if n.kind() != kindLive || c.load(n) != old {
				c.release(e, pinned)
				return false // an entry of the read table is the key's only entry
			}
			var done bool
			var nn *node[V]
			if op == DeleteOp {
				done = c.deleteLive(s, e, n, ep)
			} else if nn = c.liveNode(n, ep, new); e.p.CompareAndSwap(n, nn) {
				done = true
			}
			c.release(e, pinned)
			if done {
				if op == DeleteOp {
					c.deletedLockFree(s)
				}
				c.moveBack(e, nn) // nil after a delete
				return true
			}
		}
	}
	r := w.locked(key, mutation[V]{compute: func(cur V, loaded bool) (V, ComputeOp) {
		if loaded && cur == old {
			return new, op
		}
		return cur, CancelOp
	}, miss: true})
	return r.changed
}

// noCopy makes go vet report copies of a Map.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
