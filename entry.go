package mapx

import (
	"reflect"
	"sync/atomic"
	"unsafe"
)

// entry is a key and its slot, shared by the read and dirty tables of its
// shard and by the snapshots that captured it. Its current version is p,
// never nil. The version it was inserted with lives inside it (first), so
// that a key that is never updated costs one allocation and a load one cache
// miss less; updated values move back into it where they can (moveBack).
type entry[K comparable, V any] struct {
	key   K
	hi    uint32       // the top half of key's hash: hashHi
	pins  atomic.Int32 // 2 per writer that pins first, plus 1 while a writer rewrites it (moveBack)
	p     atomic.Pointer[node[V]]
	first node[V]
}

func newEntry[K comparable, V any](key K, h, e uint64, v V) *entry[K, V] {
	ne := &entry[K, V]{key: key, hi: hashHi(h), first: node[V]{v: v, meta: e << epochShift}}
	// A plain store: nothing else sees ne before it is published.
	*(**node[V])(unsafe.Pointer(&ne.p)) = &ne.first
	return ne
}

// Moving values back into their entries.
//
// A load of a key whose value lives in the entry's own version (first) takes
// one cache miss less than one whose value lives in a separate version. An
// update must publish its value in a new version: first is current while
// loads may read it. Once published, the writer copies the value into first
// and points the entry back at it (moveBack), if V is a single machine word,
// which a load reading first while it is rewritten cannot see torn, and no
// snapshot is open (nothing reads an old version).
//
// A load that read first before such a rewrite still returns a value that
// was current while it ran: every value written into first was published
// before, and first is rewritten only while it is not current. A writer
// that returns or compares the value it replaces must read a first that
// nobody rewrites until its compare-and-swap: else its swap could succeed
// against a first rewritten and made current again (an ABA). It pins the
// entry (acquire, release); a writer rewrites first only while no writer
// pins it, and pinning writers check first is still current after pinning.
//
// The rewrite is a data race by design, so the race detector's build does
// without it (raceBuild).

// acquire returns the current version of e for a writer; if the writer
// needs its value and that is e.first, e is pinned until release. A writer
// that needs no more than whether e is live (Store, Delete, TryStore) pins
// nothing: e.first is live whatever it holds.
func (c *core[K, V]) acquire(e *entry[K, V], needValue bool) (old *node[V], pinned bool) {
	for {
		old = e.p.Load()
		if !needValue || !c.inline || old != &e.first {
			return old, false
		}
		e.pins.Add(2)
		if e.p.Load() == &e.first {
			return old, true
		}
		e.pins.Add(-2)
	}
}

func (c *core[K, V]) release(e *entry[K, V], pinned bool) {
	if pinned {
		e.pins.Add(-2)
	}
}

// moveBack copies nn, the version this writer just published in e, into
// e.first and makes that current, if it can without waiting.
func (c *core[K, V]) moveBack(e *entry[K, V], nn *node[V]) {
	if !c.inline || nn == nil || nn.meta&histFlag != 0 || c.openEpochs.Load() != nil || !e.pins.CompareAndSwap(0, 1) {
		return
	}
	if e.p.Load() == nn { // then first is not current, and only this writer may make it so
		e.first.v = nn.v
		e.first.meta = nn.meta
		e.p.CompareAndSwap(nn, &e.first)
	}
	e.pins.Add(-1)
}

// untearable reports whether V is one machine word or less, with nothing
// inside it to copy separately: a racing read sees a whole written value.
func untearable[V any]() bool {
	var v V
	if unsafe.Sizeof(v) > unsafe.Sizeof(uintptr(0)) {
		return false
	}
	switch reflect.TypeOf(&v).Elem().Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Pointer, reflect.UnsafePointer,
		reflect.Chan, reflect.Func, reflect.Map:
		return true
	}
	return false
}
