package mapx

import (
	"math/bits"
	"sync/atomic"
)

// table is an open-addressing hash table from keys to entries, indexed by
// the same hash that picks the shard, so a key is hashed once per operation;
// of that hash, entries keep and tables use the top half (hashHi), so that
// an entry has room for its pin count and stays 48 bytes for string keys
// and int values.
// A shard's dirty table is changed under the shard lock; once promoted to be
// the read table it is never changed again, so loads read it without a lock.
// Lookups prefetch a dirty table's control words without the lock
// (touchDirty), so writers store those words atomically.
//
// Slots come in groups of seven that fill one cache line, with a control
// byte per slot: 0 for empty, 1 for deleted, otherwise a tag of 8 bits from
// the entry's hash. A lookup compares the tags of a whole group at once and
// looks at an entry only when its tag matches, so it touches one line of the
// table and, most of the time, one entry; its branches depend on whether the
// key is there, not on where in the group it is.
type table[K comparable, V any] struct {
	groups []group[K, V]
	shift  uint8 // 64 - log2(len(groups))
	live   int   // slots holding an entry
	used   int   // live slots and deleted markers
}

type group[K comparable, V any] struct {
	ctrl uint64 // control byte i describes e[i]; the last byte is unused
	e    [groupSlots]*entry[K, V]
}

const (
	groupSlots = 7
	ctrlEmpty  = 0
	ctrlDel    = 1
	lsbs       = 0x0101010101010101
	msbs       = 0x0080808080808080 // the high bit of each slot's byte
)

// tagOf is the control byte of a slot holding an entry with hash h. It
// comes from bits that neither pick the shard nor, in any table of
// reasonable size, the group.
func tagOf(h uint64) uint8 { return max(uint8(h>>32), 2) }

// hashHi is the half of a hash that entries keep and tables use: the top
// one. Tables of more than 2^(32 − shard bits) groups would find only every
// other start group, or fewer, and probe longer; nothing else depends on the
// bottom half.
func hashHi(h uint64) uint32 { return uint32(h >> 32) }

// matches returns the slots of g whose control byte is b, as the high bit of
// their byte. A slot above a match may show up as a false match; callers
// check the entry, or use only the lowest match, which is always right.
func (g *group[K, V]) matches(b uint8) uint64 {
	x := g.ctrl ^ (lsbs * uint64(b))
	return (x - lsbs) &^ x & msbs
}

// free returns the slots of g that are empty or deleted, as matches does.
func (g *group[K, V]) free() uint64 {
	x := g.ctrl &^ lsbs // 0 and 1 become 0; tags stay non-zero
	return (x - lsbs) &^ x & msbs
}

func slotOf(m uint64) int { return bits.TrailingZeros64(m) >> 3 }

// newTable returns a table that holds capacity entries without growing.
func newTable[K comparable, V any](capacity int) *table[K, V] {
	n := 1
	for n*groupSlots*3 < capacity*4 { // at most 3/4 full
		n *= 2
	}
	if n == 1 { // one allocation for a small shard's table
		t := new(struct {
			table[K, V]
			g [1]group[K, V]
		})
		t.groups, t.shift = t.g[:], 64
		return &t.table
	}
	return &table[K, V]{groups: make([]group[K, V], n), shift: uint8(64 - bits.TrailingZeros(uint(n)))}
}

// index is the group where the probe for h starts, from the top half of h
// (all that entries keep of it: hashHi). The shard bits (the top ones) are
// shifted out first: within a shard they are all the same. Both shifts are
// taken mod 64, which spares the compiler's checks for shifts of 64 or more;
// the one such shift, of a table of one group (shift 64), is then 0, and the
// mask makes the index 0 as it must be.
func (t *table[K, V]) index(h uint64, shardBits uint8) uint64 {
	return ((h &^ (1<<32 - 1)) << (shardBits & 63)) >> (t.shift & 63) & uint64(len(t.groups)-1)
}

// lookup returns the entry for key, or nil. A nil table is empty.
func (t *table[K, V]) lookup(h uint64, shardBits uint8, key K) *entry[K, V] {
	if t == nil || len(t.groups) == 0 {
		return nil
	}
	mask := uint64(len(t.groups) - 1)
	tag := tagOf(h)
	for i := t.index(h, shardBits); ; i = (i + 1) & mask {
		g := &t.groups[i&mask]
		for m := g.matches(tag); m != 0; m &= m - 1 {
			if e := g.e[slotOf(m)]; e != nil && e.hi == hashHi(h) && e.key == key {
				return e
			}
		}
		if g.matches(ctrlEmpty) != 0 {
			return nil
		}
	}
}

// insert adds e, whose key the table must not hold.
func (t *table[K, V]) insert(e *entry[K, V], shardBits uint8) {
	t.add(e, shardBits, true)
}

// insertUnshared is insert into a table that no lookup sees yet, which may
// store its control words plainly.
func (t *table[K, V]) insertUnshared(e *entry[K, V], shardBits uint8) {
	t.add(e, shardBits, false)
}

func (t *table[K, V]) add(e *entry[K, V], shardBits uint8, shared bool) {
	if (t.used+1)*4 > len(t.groups)*groupSlots*3 {
		t.rehash(shardBits)
	}
	mask := uint64(len(t.groups) - 1)
	h := uint64(e.hi) << 32
	i := t.index(h, shardBits)
	for t.groups[i].free() == 0 {
		i = (i + 1) & mask
	}
	g := &t.groups[i]
	j := slotOf(g.free())
	if g.ctrl>>(8*j)&0xff == ctrlEmpty {
		t.used++
	}
	if ctrl := g.ctrl&^(0xff<<(8*j)) | uint64(tagOf(h))<<(8*j); shared {
		atomic.StoreUint64(&g.ctrl, ctrl)
	} else {
		g.ctrl = ctrl
	}
	g.e[j] = e
	t.live++
}

// remove deletes the entry for key, if any. A slot in a group with an empty
// slot becomes empty again: no probe goes on past such a group.
func (t *table[K, V]) remove(h uint64, shardBits uint8, key K) {
	// keep in step with table.lookup (FuzzLookupCopies)
	mask := uint64(len(t.groups) - 1)
	tag := tagOf(h)
	for i := t.index(h, shardBits); ; i = (i + 1) & mask {
		g := &t.groups[i]
		for m := g.matches(tag); m != 0; m &= m - 1 {
			j := slotOf(m)
			if e := g.e[j]; e != nil && e.hi == hashHi(h) && e.key == key {
				mark := uint64(ctrlDel)
				if g.matches(ctrlEmpty) != 0 {
					mark = ctrlEmpty
					t.used--
				}
				atomic.StoreUint64(&g.ctrl, g.ctrl&^(0xff<<(8*j))|mark<<(8*j))
				g.e[j] = nil
				t.live--
				if len(t.groups) > 1 && t.live*8 < len(t.groups)*groupSlots {
					t.rehash(shardBits) // a table that emptied shrinks
				}
				return
			}
		}
		if g.matches(ctrlEmpty) != 0 {
			return
		}
	}
}

// grownTable returns an empty table for live entries and as many inserts
// to come: about twice as large as the entries need.
func grownTable[K comparable, V any](live int) *table[K, V] {
	return newTable[K, V](2*live + 1)
}

// rehash rebuilds the table without deleted markers (grownTable).
func (t *table[K, V]) rehash(shardBits uint8) {
	nt := grownTable[K, V](t.live)
	for e := range t.all {
		nt.insertUnshared(e, shardBits)
	}
	*t = *nt
}

// clone returns a copy of t (an empty table if t is nil).
func (t *table[K, V]) clone() *table[K, V] {
	if t == nil || len(t.groups) == 0 {
		return newTable[K, V](0)
	}
	c := *t
	c.groups = append([]group[K, V](nil), t.groups...)
	return &c
}

// sameGroups reports whether t and u, neither of them empty, hold the same
// groups: whether u is t, or a copy of its header made since it last grew.
func (t *table[K, V]) sameGroups(u *table[K, V]) bool {
	return len(t.groups) == len(u.groups) && &t.groups[0] == &u.groups[0]
}

func (t *table[K, V]) len() int {
	if t == nil {
		return 0
	}
	return t.live
}

// all yields the entries of the table.
func (t *table[K, V]) all(yield func(e *entry[K, V]) bool) {
	if t == nil {
		return
	}
	for i := range t.groups {
		g := &t.groups[i]
		for _, e := range g.e {
			if e != nil && !yield(e) {
				return
			}
		}
	}
}
