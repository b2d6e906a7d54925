package mapx

import (
	"fmt"
)

// write is a write of one key under way: what beginWrite found.
type write[K comparable, V any] struct {
	c    *core[K, V]
	s    *shard[K, V] // the key's shard
	h    uint64       // the key's hash
	g    *gate        // the gate the writer entered; it must leave it
	ep   uint64       // the epoch of the versions the write publishes
	read *readOnly[K, V]
	e    *entry[K, V] // the key's entry in read, or nil
}

// beginWrite starts a write of key: it looks the key up in its shard's read
// table and enters as a writer (the caller must leave the gate). The read
// table may be promoted meanwhile; an entry found in it stays the key's entry
// unless it is expunged, which lock-free writers check.
func (m *Map[K, V]) beginWrite(key K) write[K, V] {
	return beginAt(m.locate(key))
}

// beginAt is beginWrite for a key that locate has looked up.
func beginAt[K comparable, V any](c *core[K, V], s *shard[K, V], h uint64, read *readOnly[K, V], e *entry[K, V]) write[K, V] {
	g, ep := c.enter()
	return write[K, V]{c: c, s: s, h: h, g: g, ep: ep, read: read, e: e}
}

// locked applies mu to key under the shard lock, once the lock-free path
// has not done the write.
func (w *write[K, V]) locked(key K, mu mutation[V]) mutationResult[V] {
	return w.c.mutateLocked(w.s, w.h, key, w.ep, absent(w.read, w.e != nil), mu)
}

// trySwap replaces the version of e without taking the lock: a live one
// always, and a deleted one if revive is set and e is not expunged (an
// expunged entry is missing from the dirty table, and only a writer holding
// the lock may put it back). Reviving is an insert, so TryStore, which must
// pass admission control first, does not revive. loaded reports whether e
// was live; prev is its value if needPrev is set (acquire).
func (c *core[K, V]) trySwap(s *shard[K, V], e *entry[K, V], ep uint64, v V, revive, needPrev bool) (prev V, loaded, ok bool) {
	for {
		old, pinned := c.acquire(e, needPrev)
		kind := old.kind()
		if kind == kindExpunged || !revive && kind == kindTomb {
			c.release(e, pinned)
			return prev, false, false
		}
		nn := c.liveNode(old, ep, v)
		swapped := e.p.CompareAndSwap(old, nn)
		if needPrev {
			prev = c.load(old) // a deleted version's value is zero
		}
		c.release(e, pinned)
		if swapped {
			if kind != kindLive {
				c.addCount(s, 1)
			}
			c.moveBack(e, nn)
			return prev, kind == kindLive, true
		}
	}
}

// deleteLive replaces old, the live version of e, by a tombstone and counts
// the deletion. It fails if e changed meanwhile.
func (c *core[K, V]) deleteLive(s *shard[K, V], e *entry[K, V], old *node[V], ep uint64) bool {
	if !e.p.CompareAndSwap(old, c.deadNode(old, ep, kindTomb)) {
		return false
	}
	c.addCount(s, -1)
	return true
}

// addCount records a change in the number of live entries of s.
func (c *core[K, V]) addCount(s *shard[K, V], d int64) {
	s.count.Add(d)
	if c.total != nil {
		c.total.n.Add(d)
	}
}

// computeLive applies f to old, the live version of e, for Compute; done is
// false if e changed meanwhile. nn is the version it published, if any.
func (c *core[K, V]) computeLive(s *shard[K, V], e *entry[K, V], old *node[V], ep uint64, f func(old V, loaded bool) (V, ComputeOp)) (done bool, actual V, ok bool, nn *node[V]) {
	ov := c.load(old)
	nv, op := f(ov, true)
	switch op {
	case CancelOp:
		return true, ov, true, nil
	case UpdateOp:
		if nn = c.liveNode(old, ep, nv); e.p.CompareAndSwap(old, nn) {
			return true, nv, true, nn
		}
	case DeleteOp:
		if c.deleteLive(s, e, old, ep) {
			c.deletedLockFree(s)
			return true, actual, false, nil
		}
	default:
		panic(fmt.Sprintf("mapx: Compute: invalid %v", op))
	}
	return false, actual, false, nil
}

// absent returns read if the key was not found in it, for mutateLocked.
func absent[K comparable, V any](read *readOnly[K, V], found bool) *readOnly[K, V] {
	if found {
		return nil
	}
	return read
}

// mutation describes a write for mutateLocked.
type mutation[V any] struct {
	compute      func(old V, loaded bool) (V, ComputeOp) // if nil: op and value
	op           ComputeOp
	value        V
	onlyIfAbsent bool // LoadOrStore
	miss         bool // the write reads, so a dirty-map lookup counts as a miss
	admit        bool // an insert must pass admission control
	noWait       bool // with admit: count a refusal (TryStore) rather than report a rate wait
}

type mutationResult[V any] struct {
	old     V
	loaded  bool // a value was present before
	now     V
	present bool // a value is present after
	changed bool // the map changed
	err     error
}

// mutateLocked applies mu to key under the shard lock. searched is a read
// table the caller found no entry for key in, or nil.
func (c *core[K, V]) mutateLocked(s *shard[K, V], h uint64, key K, ep uint64, searched *readOnly[K, V], mu mutation[V]) mutationResult[V] {
	s.mu.Lock()
	defer s.mu.Unlock()
	return c.mutateHeld(s, h, key, ep, searched, mu)
}

// mutateHeld is mutateLocked for a caller that holds s.mu. Lock-free writers
// change only entries of the read table that are not expunged, so the loop
// retries only when one of them got there first.
func (c *core[K, V]) mutateHeld(s *shard[K, V], h uint64, key K, ep uint64, searched *readOnly[K, V], mu mutation[V]) (r mutationResult[V]) {
	read := s.read.Load()
	var e *entry[K, V]
	inRead := false
	if read != searched {
		e, inRead = c.find(&read.t, h, key)
	}
	if !inRead && read.amended {
		e = s.dirty.lookup(h, c.shardBits, key)
		if mu.miss {
			defer func() { s.missLocked(r.changed && !r.present) }() // after the write: promotion must not race the lookup above
		}
	}
	// A pinned entry (acquire) is released before each retry and on return,
	// and then the version published, if any, moves back into it.
	pinned := false
	var published *node[V]
	defer func() {
		c.release(e, pinned)
		if published != nil {
			c.moveBack(e, published)
		}
	}()
	for {
		c.release(e, pinned)
		pinned = false
		var old *node[V]
		r.loaded = false
		if e != nil {
			old, pinned = c.acquire(e, true)
			r.loaded = old.kind() == kindLive
		}
		var zero V
		r.old = zero
		if r.loaded {
			r.old = c.load(old)
		}
		nv, op := mu.value, mu.op
		if mu.compute != nil {
			nv, op = mu.compute(r.old, r.loaded)
		} else if mu.onlyIfAbsent && r.loaded {
			op = CancelOp
		}
		switch op {
		case CancelOp:
			r.now, r.present = r.old, r.loaded
			return r
		case UpdateOp:
			if r.loaded {
				nn := c.liveNode(old, ep, nv)
				if !e.p.CompareAndSwap(old, nn) {
					continue
				}
				published = nn
				r.now, r.present, r.changed = nv, true, true
				return r
			}
			if mu.admit {
				if r.err = c.admit(mu.noWait); r.err != nil {
					r.now, r.present = r.old, false
					return r
				}
			}
			switch {
			case e == nil:
				if !read.amended {
					c.dirtyLocked(s)
					if read == c.emptyRead {
						s.read.Store(c.emptyAmended)
					} else {
						s.read.Store(&readOnly[K, V]{t: read.t, amended: true})
					}
				}
				s.dirty.insert(newEntry(key, h, ep, nv), c.shardBits)
				s.fresh++
				s.dirtyGrew()
			case old.kind() == kindExpunged: // only changed under the lock
				e.p.Store(c.liveNode(old, ep, nv))
				s.dirty.insert(e, c.shardBits)
				s.fresh++
				s.dirtyGrew()
			default: // a tombstone, in the dirty table if there is one; lock-free writers may revive it too
				if !e.p.CompareAndSwap(old, c.liveNode(old, ep, nv)) {
					if mu.admit {
						c.unadmit()
					}
					continue
				}
			}
			if mu.admit {
				s.count.Add(1) // admit counted it in the total
			} else {
				c.addCount(s, 1)
			}
			r.now, r.present, r.changed = nv, true, true
			return r
		case DeleteOp:
			if !r.loaded {
				return r
			}
			if !c.deleteLive(s, e, old, ep) {
				continue
			}
			if !inRead {
				s.dirty.remove(h, c.shardBits, key)
				s.dirtyGrew() // or shrank
			}
			r.changed = true
			return r
		default:
			panic(fmt.Sprintf("mapx: Compute: invalid %v", op))
		}
	}
}
