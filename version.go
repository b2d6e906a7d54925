package mapx

import (
	"sync/atomic"
	"unsafe"
)

// Node kinds, kept in the low bits of node.meta; then a flag for a node with
// history; the epoch is in the rest.
const (
	kindLive     = 0 // holds a value
	kindTomb     = 1 // deleted; the entry is still in the dirty map if there is one
	kindExpunged = 2 // deleted and left out of the dirty map
	kindMask     = 3
	histFlag     = 4 // the node is the head of a histNode
	epochShift   = 3
)

// node is one version of an entry's value. Writers never change a published
// node, except to cut its history once no open snapshot can need it, and
// except the version inside each entry, which a writer may rewrite while it
// is not current (moveBack). A deleted version (tombstone or expunged) holds
// the zero value, so that value needs no branch on the kind
// (TestDeletedVersionsHoldTheZeroValue).
//
// Only versions written while a snapshot is open have older versions behind
// them; those are allocated as a histNode, and their meta says so. Every
// other version, including the one inside each entry, is two words for a
// word-sized value: the entry is 48 bytes for string keys and int values,
// not 64, and an update allocates 16 bytes, not 24.
type node[V any] struct {
	v    V
	meta uint64 // epoch<<epochShift | histFlag? | kind
}

// histNode is a node with the older versions that open snapshots still see.
type histNode[V any] struct {
	node[V] // first: a *node[V] with histFlag points to a histNode
	prev    atomic.Pointer[node[V]]
}

// loadMeta reads n.meta, which moveBack rewrites in entries' own versions.
func (n *node[V]) loadMeta() uint64 { return atomic.LoadUint64(&n.meta) }

func (n *node[V]) epoch() uint64 { return n.loadMeta() >> epochShift }
func (n *node[V]) kind() uint64  { return n.loadMeta() & kindMask }

// value returns n's value, if n holds one. It does not branch on the kind:
// whether a key is deleted is as random as the workload, and a mispredicted
// branch on it is costly on the mixes.
func (c *core[K, V]) value(n *node[V]) (v V, ok bool) {
	return c.load(n), n.kind() == kindLive
}

// prev returns the version before n that open snapshots may see, or nil.
func (n *node[V]) prev() *node[V] {
	if n.loadMeta()&histFlag == 0 {
		return nil
	}
	return (*histNode[V])(unsafe.Pointer(n)).prev.Load()
}

// cutHistory drops the versions before n.
func (n *node[V]) cutHistory() {
	if n.loadMeta()&histFlag != 0 {
		(*histNode[V])(unsafe.Pointer(n)).prev.Store(nil)
	}
}

// newNode returns a version with value v, epoch e and kind, before which
// snapshots see prev (nil if none).
func newNode[V any](v V, e, kind uint64, prev *node[V]) *node[V] {
	if prev == nil {
		return &node[V]{v: v, meta: e<<epochShift | kind}
	}
	h := &histNode[V]{node: node[V]{v: v, meta: e<<epochShift | histFlag | kind}}
	h.prev.Store(prev)
	return &h.node
}

// history returns the chain of older versions that a version written at
// epoch e must link to: for each open snapshot, the version it sees, and
// nothing else. While no snapshot is open it returns nil at the cost of one
// atomic load. Published versions are never changed, except that the oldest
// kept one loses its own (unreachable) history; where an old chain holds
// versions no open snapshot needs, the kept ones are copied.
func (c *core[K, V]) history(old *node[V], e uint64) *node[V] {
	open := c.openEpochs.Load()
	if open == nil || old == nil {
		return nil
	}
	var buf [8]*node[V]
	keep := buf[:0] // newest first
	q := old
	for i := len(*open) - 1; i >= 0 && q != nil; i-- {
		if snap := (*open)[i]; snap < e { // a snapshot at e or later sees the new version
			for q != nil && q.epoch() > snap {
				q = q.prev()
			}
			if q != nil && (len(keep) == 0 || keep[len(keep)-1] != q) {
				keep = append(keep, q)
			}
		}
	}
	for len(keep) > 0 && keep[len(keep)-1].kind() != kindLive {
		keep = keep[:len(keep)-1] // a deletion with nothing older to hide
	}
	var tail *node[V]
	for i := len(keep) - 1; i >= 0; i-- {
		q := keep[i]
		switch {
		case q.prev() == tail:
		case tail == nil:
			q.cutHistory() // no open snapshot reads past the version it sees
		default:
			q = newNode(c.load(q), q.epoch(), q.kind(), tail)
		}
		tail = q
	}
	return tail
}

func (c *core[K, V]) liveNode(old *node[V], e uint64, v V) *node[V] {
	return newNode(v, e, kindLive, c.history(old, e))
}

func (c *core[K, V]) deadNode(old *node[V], e uint64, kind uint64) *node[V] {
	p := c.history(old, e)
	if p == nil {
		if kind == kindExpunged {
			return c.expunged
		}
		return c.tomb
	}
	var zero V
	return newNode(zero, e, kind, p)
}

// expungedOf returns the expunged version equivalent to tombstone n: the
// same epoch and history, so that snapshots resolve it alike.
func (c *core[K, V]) expungedOf(n *node[V]) *node[V] {
	p := n.prev()
	if p == nil {
		return c.expunged
	}
	var zero V
	return newNode(zero, n.epoch(), kindExpunged, p)
}
