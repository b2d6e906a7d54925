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
// Loads read first without a lock while it may be rewritten, so every read
// and write of a version's value and meta goes through sync/atomic (load,
// loadMeta): the word kinds that moveBack rewrites are those sync/atomic
// has, and the race detector's build runs the same code.

// acquire returns the current version of e for a writer; if the writer
// needs its value and that is e.first, e is pinned until release. A writer
// that needs no more than whether e is live (Store, Delete, TryStore) pins
// nothing: e.first is live whatever it holds.
func (c *core[K, V]) acquire(e *entry[K, V], needValue bool) (old *node[V], pinned bool) {
	for {
		old = e.p.Load()
		if !needValue || c.word == wordNone || old != &e.first {
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
	if c.word == wordNone || nn == nil || nn.meta&histFlag != 0 || c.openEpochs.Load() != nil || !e.pins.CompareAndSwap(0, 1) {
		return
	}
	if e.p.Load() == nn { // then first is not current, and only this writer may make it so
		c.storeFirst(e, nn)
		e.p.CompareAndSwap(nn, &e.first)
	}
	e.pins.Add(-1)
}

// wordKind says whether moveBack may rewrite values of a type in place, and
// with which atomic operations they are then read and written.
type wordKind uint8

const (
	wordNone    wordKind = iota // not one word: never rewritten, read plainly
	wordScalar                  // one word without pointers: atomic uintptr
	wordPointer                 // one pointer: atomic unsafe.Pointer, which keeps the write barrier
)

// wordKindOf returns the wordKind of V.
func wordKindOf[V any]() wordKind {
	var v V
	if unsafe.Sizeof(v) != unsafe.Sizeof(uintptr(0)) {
		return wordNone
	}
	switch reflect.TypeOf(&v).Elem().Kind() {
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64, reflect.Uintptr, reflect.Float64:
		return wordScalar
	case reflect.Pointer, reflect.UnsafePointer, reflect.Chan, reflect.Func, reflect.Map:
		return wordPointer
	}
	return wordNone
}

// load returns n's value; moveBack may be rewriting it (entry).
func (c *core[K, V]) load(n *node[V]) (v V) {
	switch c.word {
	case wordScalar:
		*(*uintptr)(unsafe.Pointer(&v)) = atomic.LoadUintptr((*uintptr)(unsafe.Pointer(&n.v)))
	case wordPointer:
		*(*unsafe.Pointer)(unsafe.Pointer(&v)) = atomic.LoadPointer((*unsafe.Pointer)(unsafe.Pointer(&n.v)))
	default:
		v = n.v
	}
	return v
}

// storeFirst copies nn's value and meta into e.first, which is not current.
func (c *core[K, V]) storeFirst(e *entry[K, V], nn *node[V]) {
	switch c.word {
	case wordScalar:
		atomic.StoreUintptr((*uintptr)(unsafe.Pointer(&e.first.v)), *(*uintptr)(unsafe.Pointer(&nn.v)))
	case wordPointer:
		atomic.StorePointer((*unsafe.Pointer)(unsafe.Pointer(&e.first.v)), *(*unsafe.Pointer)(unsafe.Pointer(&nn.v)))
	}
	if atomic.LoadUint64(&e.first.meta) != nn.meta { // the same until a snapshot advances the epoch
		atomic.StoreUint64(&e.first.meta, nn.meta)
	}
}
