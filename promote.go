package mapx

// The promotion policy: when a shard's dirty table becomes its read table.
//
// A promotion itself is cheap (promoteLocked), but the next insert must make
// a new dirty table from the read table, copying every entry of the shard
// (dirtyLocked); until the promotion, every read of a key that only the
// dirty table holds takes the shard lock (a miss). The policy weighs the two.

// minPromoteMisses is the fewest misses that promote: below it a small
// shard's copy is cheap, but making it again on every insert is not.
const minPromoteMisses = 16

// missLocked counts a read that had to consult the dirty table. One that
// deleted its key from the dirty table counts toward no promotion, since
// promoting would not bring that key into the read table. Others promote
// the dirty table once such misses have cost as much as copying it: when
// they reach the dirty table's size, or, in a shard whose keys are being
// replaced (fresh keys arrive at least twice as fast as misses), a sixteenth
// of its live keys. A read-mostly shard, where misses outnumber inserts,
// keeps the first rule.
func (s *shard[K, V]) missLocked(keyGone bool) {
	s.readMisses.Add(1)
	if keyGone {
		return
	}
	s.misses++
	if s.misses < minPromoteMisses {
		return
	}
	if s.misses < s.dirty.len() && (s.fresh < 2*s.misses || 16*s.misses < int(s.count.Load())) {
		return
	}
	s.promoteLocked()
}

// promoteLocked makes the dirty table the read table. It is the one place
// that promotes: the policy above, compactions below, and snapshots and
// iterations (which need a read table holding every key) call it.
func (s *shard[K, V]) promoteLocked() {
	s.read.Store(&readOnly[K, V]{t: *s.dirty})
	s.dirty = nil
	s.dview.Store(nil)
	s.misses = 0
	s.fresh = 0
	s.dirtyLen.Store(0)
	s.promotions.Add(1)
}

// mostlyDead reports whether the read table of s holds four times as many
// entries as s has live ones, most of them deleted: then the shard is
// compacted, so that a map that shrinks frees its memory without waiting
// for inserts.
func (s *shard[K, V]) mostlyDead(read *readOnly[K, V]) bool {
	n := read.t.len()
	return n >= 4*minPromoteMisses && int(s.count.Load())*4 < n
}

// deletedLockFree is told of a delete made without the shard lock, which
// may have left the read table of s mostly dead.
func (c *core[K, V]) deletedLockFree(s *shard[K, V]) {
	if s.mostlyDead(s.read.Load()) {
		c.compact(s)
	}
}

// compact rebuilds the tables of s with only its live entries, after a
// lock-free delete that left its read table mostly dead.
func (c *core[K, V]) compact(s *shard[K, V]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	read := s.read.Load()
	if !s.mostlyDead(read) {
		return // compacted meanwhile
	}
	src := s.dirty
	if src == nil {
		src = &read.t
	}
	t := newTable[K, V](int(s.count.Load()))
	for i := range src.groups {
		c.copyLive(t, &src.groups[i])
	}
	s.dirty = t
	s.promoteLocked()
}
