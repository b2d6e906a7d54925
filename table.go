package mapx

import "math/bits"

// table is an open-addressing hash table from keys to entries, indexed by
// the same hash that picks the shard, so a key is hashed once per operation.
// A shard's dirty table is changed under the shard lock; once promoted to be
// the read table it is never changed again, so loads read it without a lock.
type table[K comparable, V any] struct {
	slots []slot[K, V]
	shift uint8 // 64 - log2(len(slots))
	live  int   // slots holding an entry
	used  int   // live slots and deleted markers
}

// slot is empty (e == nil, h == 0), a deleted marker (e == nil, h == 1) or
// holds an entry with hash h.
type slot[K comparable, V any] struct {
	h uint64
	e *entry[K, V]
}

const minTableSize = 8

func newTable[K comparable, V any](capacity int) *table[K, V] {
	size := minTableSize
	for size*3 < capacity*4 { // at most 3/4 full
		size *= 2
	}
	return &table[K, V]{slots: make([]slot[K, V], size), shift: uint8(64 - bits.TrailingZeros(uint(size)))}
}

// index is where the probe for h starts. The shard bits (the top ones) are
// shifted out first: within a shard they are all the same.
func (t *table[K, V]) index(h uint64, shardBits uint8) uint64 {
	return (h << shardBits) >> t.shift
}

// lookup returns the entry for key, or nil. A nil table is empty.
func (t *table[K, V]) lookup(h uint64, shardBits uint8, key K) *entry[K, V] {
	if t == nil || len(t.slots) == 0 {
		return nil
	}
	mask := uint64(len(t.slots) - 1)
	for i := t.index(h, shardBits); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.e == nil {
			if s.h == 0 {
				return nil
			}
		} else if s.h == h && s.e.key == key {
			return s.e
		}
	}
}

// insert adds e, whose key the table must not hold.
func (t *table[K, V]) insert(h uint64, shardBits uint8, e *entry[K, V]) {
	if (t.used+1)*4 > len(t.slots)*3 {
		t.rehash(shardBits)
	}
	mask := uint64(len(t.slots) - 1)
	i := t.index(h, shardBits)
	for t.slots[i].e != nil {
		i = (i + 1) & mask
	}
	if t.slots[i].h == 0 {
		t.used++
	}
	t.slots[i] = slot[K, V]{h: h, e: e}
	t.live++
}

// remove deletes the entry for key, if any.
func (t *table[K, V]) remove(h uint64, shardBits uint8, key K) {
	mask := uint64(len(t.slots) - 1)
	for i := t.index(h, shardBits); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.e == nil {
			if s.h == 0 {
				return
			}
		} else if s.h == h && s.e.key == key {
			*s = slot[K, V]{h: 1}
			t.live--
			return
		}
	}
}

// rehash rebuilds the table without deleted markers, twice as large as its
// live entries need.
func (t *table[K, V]) rehash(shardBits uint8) {
	nt := newTable[K, V](2 * (t.live + 1))
	for _, s := range t.slots {
		if s.e != nil {
			nt.insert(s.h, shardBits, s.e)
		}
	}
	*t = *nt
}

// clone returns a copy of t (an empty table if t is nil).
func (t *table[K, V]) clone() *table[K, V] {
	if t == nil || len(t.slots) == 0 {
		return newTable[K, V](0)
	}
	c := *t
	c.slots = append([]slot[K, V](nil), t.slots...)
	return &c
}

func (t *table[K, V]) len() int {
	if t == nil {
		return 0
	}
	return t.live
}

// all yields the table's slots that hold an entry.
func (t *table[K, V]) all(yield func(h uint64, e *entry[K, V]) bool) {
	if t == nil {
		return
	}
	for _, s := range t.slots {
		if s.e != nil && !yield(s.h, s.e) {
			return
		}
	}
}
