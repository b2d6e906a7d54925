package mapx

import (
	"fmt"
	"hash/maphash"
	"math/bits"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
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

func (n *node[V]) epoch() uint64 { return n.meta >> epochShift }
func (n *node[V]) kind() uint64  { return n.meta & kindMask }

// value returns n's value, if n holds one. It does not branch on the kind:
// whether a key is deleted is as random as the workload, and a mispredicted
// branch on it cost Mix/loads=90 and 75 about 12 % (20 interleaved rounds,
// p=0.003 and p=0.002).
func (n *node[V]) value() (v V, ok bool) {
	return n.v, n.kind() == kindLive
}

// prev returns the version before n that open snapshots may see, or nil.
func (n *node[V]) prev() *node[V] {
	if n.meta&histFlag == 0 {
		return nil
	}
	return (*histNode[V])(unsafe.Pointer(n)).prev.Load()
}

// cutHistory drops the versions before n.
func (n *node[V]) cutHistory() {
	if n.meta&histFlag != 0 {
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
	_          [8]byte
	// The writer fields fill the second cache line exactly (TestShardLayout).
}

const cacheLine = 64

// core is the state of an initialised Map.
type core[K comparable, V any] struct {
	shards    []shard[K, V]
	shift     uint8 // 64 - log2(len(shards))
	shardBits uint8 // log2(len(shards))
	seed      maphash.Seed
	hash      func(K) uint64 // nil: maphash.Comparable
	gates     []gate         // writers in flight, by stripe of goroutines
	gateShift uint8          // 64 - log2(len(gates))

	tomb     *node[V] // shared tombstone with no history
	expunged *node[V] // shared expunged marker with no history
	inline   bool     // updated values move back into their entries (moveBack)

	_          [cacheLine]byte
	epoch      atomic.Uint64            // snapshot epoch; changes only when a snapshot is taken
	openEpochs atomic.Pointer[[]uint64] // epochs of the open snapshots, ascending; nil if none
	_          [cacheLine - 16]byte

	snapMu sync.Mutex
	open   map[uint64]int // open snapshots by epoch
	nOpen  atomic.Int64
	taken  snapClock // when the open snapshots were taken

	codec       Codec
	iterCancels atomic.Int64
	observer    atomic.Pointer[Observer]
	_           [cacheLine - 16]byte

	admission
}

// New returns an empty Map configured by opts. It panics, naming the option,
// if an option is invalid.
func New[K comparable, V any](opts ...Option) *Map[K, V] {
	var cfg config
	for _, o := range opts {
		if o == nil {
			panic("mapx: New: nil Option")
		}
		o.apply(&cfg)
	}
	m := new(Map[K, V])
	m.c.Store(newCore[K, V](&cfg))
	return m
}

func newCore[K comparable, V any](cfg *config) *core[K, V] {
	n := cfg.shards
	if n == 0 {
		n = defaultShards()
	}
	n = ceilPow2(n)
	c := &core[K, V]{
		shards:   make([]shard[K, V], n),
		seed:     maphash.MakeSeed(),
		tomb:     &node[V]{meta: kindTomb},
		expunged: &node[V]{meta: kindExpunged},
		open:     make(map[uint64]int),
		inline:   !raceBuild && untearable[V](),
	}
	for n>>c.shardBits > 1 {
		c.shardBits++
	}
	ng := ceilPow2(max(8, 4*runtime.GOMAXPROCS(0))) // 128 bytes each
	c.gates = make([]gate, ng)
	c.gateShift = uint8(64 - bits.TrailingZeros(uint(ng)))
	c.shift = 64 - c.shardBits
	if cfg.hasher != nil {
		h, ok := cfg.hasher.(func(K) uint64)
		if !ok {
			var k K
			panic(fmt.Sprintf("mapx: WithHasher: hash function is %T, want func(%T) uint64", cfg.hasher, k))
		}
		c.hash = h
	}
	empty := &readOnly[K, V]{}
	for i := range c.shards {
		c.shards[i].read.Store(empty)
	}
	c.admission.init(cfg)
	c.codec = cfg.codec
	if c.codec == nil {
		c.codec = GobCodec
	}
	return c
}

// core returns the map's state, initialising a zero Map on first use.
func (m *Map[K, V]) core() *core[K, V] {
	if c := m.c.Load(); c != nil {
		return c
	}
	return m.initSlow()
}

func (m *Map[K, V]) initSlow() *core[K, V] {
	m.once.Lock()
	defer m.once.Unlock()
	if c := m.c.Load(); c != nil {
		return c
	}
	c := newCore[K, V](&config{})
	m.c.Store(c)
	return c
}

// hashOf returns key's hash. Its top bits pick the shard, the next ones the
// slot in the shard's tables.
func (c *core[K, V]) hashOf(key K) uint64 {
	var h uint64
	if c.hash != nil {
		h = c.hash(key)
	} else {
		h = maphash.Comparable(c.seed, key)
	}
	// Fibonacci hashing spreads a weak user hash over the high bits.
	return h * hashMul
}

const hashMul = 0x9E3779B97F4A7C15

func (c *core[K, V]) shardOf(h uint64) *shard[K, V] {
	return &c.shards[h>>c.shift]
}

// absent returns read if the key was not found in it, for mutateLocked.
func absent[K comparable, V any](read *readOnly[K, V], found bool) *readOnly[K, V] {
	if found {
		return nil
	}
	return read
}

// find looks key up in t, which may be nil.
func (c *core[K, V]) find(t *table[K, V], h uint64, key K) (*entry[K, V], bool) {
	e := t.lookup(h, c.shardBits, key)
	return e, e != nil
}

const gateClosed = 1 << 62

// gate counts the writers in flight in one stripe of goroutines; a snapshot
// sets gateClosed to hold new writers back while it waits for those in flight
// to finish. Each stripe has its own cache lines, so writers on different
// processors do not pass a line back and forth.
type gate struct {
	n atomic.Int64
	_ [2*cacheLine - 8]byte // two lines: the adjacent-line prefetcher pairs them
}

// enter registers a writer and returns its gate, which it must leave, and the
// epoch its writes carry. While a snapshot is being taken the gates are
// closed and enter waits: the snapshot's cut is the instant when no writer is
// in flight.
//
// The stripe comes from the address of the caller's stack, which differs
// between goroutines and stays the same for one goroutine at one call site:
// a cheap stand-in for the processor the goroutine runs on.
func (c *core[K, V]) enter() (*gate, uint64) {
	var local byte
	g := &c.gates[(uint64(uintptr(unsafe.Pointer(&local))>>10)*hashMul)>>c.gateShift]
	for {
		if g.n.Add(1)&gateClosed == 0 {
			return g, c.epoch.Load()
		}
		g.n.Add(-1)
		for g.n.Load()&gateClosed != 0 {
			runtime.Gosched()
		}
	}
}

func (g *gate) leave() { g.n.Add(-1) }

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
			q = newNode(q.v, q.epoch(), q.kind(), tail)
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

// beginWrite starts a write of key: it looks the key up in its shard's read
// table and enters as a writer (the caller must leave the gate). The read
// table may be promoted meanwhile; an entry found in it stays the key's entry
// unless it is expunged, which lock-free writers check.
func (m *Map[K, V]) beginWrite(key K) (c *core[K, V], s *shard[K, V], h uint64, g *gate, ep uint64, read *readOnly[K, V], e *entry[K, V], found bool) {
	c, s, h, read, e = m.locate(key)
	g, ep = c.enter()
	return c, s, h, g, ep, read, e, e != nil
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
			prev = old.v // a deleted version's value is zero
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
	// of consecutive loads: 4.6 % faster on Mix/loads=100 than the whole
	// probe written out here (14 interleaved rounds, p=0.016), which was 12 %
	// faster than a call to locate.
	c := m.c.Load()
	if c == nil {
		return m.loadProbe(key)
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
			return value, false
		}
		return m.loadSlow(c, s, h, key, read)
	}
	if mt&(mt-1) == 0 {
		if e := g.e[slotOf(mt)]; e != nil && e.hi == hashHi(h) && e.key == key {
			return e.p.Load().value()
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
		return e.p.Load().value()
	}
	if !read.amended {
		return value, false
	}
	return m.loadSlow(c, s, h, key, read)
}

// locate hashes key, picks its shard and looks it up in the shard's read
// table. Every operation starts here, so it is written out by hand: the
// compiler inlines little into generic code (core, hashOf and table.lookup
// stay calls), and each call would cost as much as the probe (calling them
// instead measured 11 % slower on Mix/loads=90).
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
		s.missLocked()
	}
	s.mu.Unlock()
	if !found {
		return value, false
	}
	return e.p.Load().value()
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
	c, s, h, g, ep, read, e, ok := m.beginWrite(key)
	defer g.leave()
	if ok {
		if prev, loaded, ok := c.trySwap(s, e, ep, value, true, needPrev); ok {
			return prev, loaded
		}
	}
	r := c.mutateLocked(s, h, key, ep, absent(read, ok), mutation[V]{op: UpdateOp, value: value})
	return r.old, r.loaded
}

// LoadOrStore returns the existing value for key if present. Otherwise it
// stores value and returns it. loaded is true if the value was loaded.
func (m *Map[K, V]) LoadOrStore(key K, value V) (actual V, loaded bool) {
	c, s, h, read, e := m.locate(key)
	ok := e != nil
	if ok {
		if n := e.p.Load(); n.kind() == kindLive {
			return n.v, true
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
				value = old.v
			}
			c.release(e, pinned)
			if deleted {
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
	c, s, h, g, ep, read, e, found := m.beginWrite(key)
	defer g.leave()
	if found {
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
	r := c.mutateLocked(s, h, key, ep, absent(read, found), mutation[V]{compute: f, miss: true})
	return r.now, r.present
}

// computeLive applies f to old, the live version of e, for Compute; done is
// false if e changed meanwhile. nn is the version it published, if any.
func (c *core[K, V]) computeLive(s *shard[K, V], e *entry[K, V], old *node[V], ep uint64, f func(old V, loaded bool) (V, ComputeOp)) (done bool, actual V, ok bool, nn *node[V]) {
	nv, op := f(old.v, true)
	switch op {
	case CancelOp:
		return true, old.v, true, nil
	case UpdateOp:
		if nn = c.liveNode(old, ep, nv); e.p.CompareAndSwap(old, nn) {
			return true, nv, true, nn
		}
	case DeleteOp:
		if c.deleteLive(s, e, old, ep) {
			return true, actual, false, nil
		}
	default:
		panic(fmt.Sprintf("mapx: Compute: invalid %v", op))
	}
	return false, actual, false, nil
}

// Clear deletes all the entries. It is atomic shard by shard, not across
// shards, and takes time proportional to the number of entries.
func (m *Map[K, V]) Clear() {
	c := m.core()
	for i := range c.shards {
		s := &c.shards[i]
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
		s.read.Store(&readOnly[K, V]{})
		s.dirty = nil
		s.dview.Store(nil)
		s.misses = 0
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
	c, s, h, g, ep, read, e, ok := m.beginWrite(key)
	defer g.leave()
	if ok {
		for {
			n, pinned := c.acquire(e, true)
			if n.kind() != kindLive || n.v != old {
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
				c.moveBack(e, nn) // nil after a delete
				return true
			}
		}
	}
	r := c.mutateLocked(s, h, key, ep, absent(read, ok), mutation[V]{compute: func(cur V, loaded bool) (V, ComputeOp) {
		if loaded && cur == old {
			return new, op
		}
		return cur, CancelOp
	}, miss: true})
	return r.changed
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
			defer s.missLocked() // after the write: promotion must not race the lookup above
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
			r.old = old.v
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
					s.read.Store(&readOnly[K, V]{t: read.t, amended: true})
				}
				s.dirty.insert(newEntry(key, h, ep, nv), c.shardBits)
				s.dirtyGrew()
			case old.kind() == kindExpunged: // only changed under the lock
				e.p.Store(c.liveNode(old, ep, nv))
				s.dirty.insert(e, c.shardBits)
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
				s.dirtyLen.Store(int64(s.dirty.len()))
			}
			r.changed = true
			return r
		default:
			panic(fmt.Sprintf("mapx: Compute: invalid %v", op))
		}
	}
}

// dirtyLocked makes the dirty table from the read table.
func (c *core[K, V]) dirtyLocked(s *shard[K, V]) {
	if s.dirty != nil {
		return
	}
	read := s.read.Load()
	// The read table holds every key of the shard. While few of them are
	// deleted, copy it slot for slot: deleted entries may stay in the dirty
	// table, and the copy touches no entry. Otherwise leave them out, which
	// must look at every entry, in a table sized as rehash sizes it, so that
	// the inserts that follow do not rehash it at once (with copyLive, churn
	// allocated 21 % fewer bytes per operation, p=0.000, and ran 3.5 %
	// faster, not significant, in 10 interleaved rounds).
	live := int(s.count.Load())
	if dead := read.t.len() - live; dead*4 <= read.t.len() {
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
			t.insert(e, c.shardBits)
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
// instead of following each other (churn 7.4 % faster, 16 interleaved
// rounds, p=0.012).
func (s *shard[K, V]) touchDirty(h uint64, shardBits uint8) {
	if v := s.dview.Load(); v != nil {
		touch(&v.groups[v.index(h, shardBits)].ctrl)
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

// missLocked counts a read that had to consult the dirty map and promotes the
// dirty map once such misses have cost as much as copying it.
func (s *shard[K, V]) missLocked() {
	s.readMisses.Add(1)
	s.misses++
	if s.misses < s.dirty.len() {
		return
	}
	s.promoteLocked()
}

func (s *shard[K, V]) promoteLocked() {
	s.read.Store(&readOnly[K, V]{t: *s.dirty})
	s.dirty = nil
	s.dview.Store(nil)
	s.misses = 0
	s.dirtyLen.Store(0)
	s.promotions.Add(1)
}

// noCopy makes go vet report copies of a Map.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
