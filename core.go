package mapx

import (
	"fmt"
	"hash/maphash"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// core is the state of an initialised Map.
type core[K comparable, V any] struct {
	shards    []shard[K, V]
	shift     uint8 // 64 - log2(len(shards))
	shardBits uint8 // log2(len(shards))
	seed      maphash.Seed
	hash      func(K) uint64              // nil: maphash.Comparable
	loads     atomic.Pointer[LoadCounter] // nil unless the observer counts loads
	gates     []gate                      // writers in flight, by stripe of goroutines
	gateShift uint8                       // 64 - log2(len(gates))

	tomb      *node[V]        // shared tombstone with no history
	emptyRead *readOnly[K, V] // shared read table of an empty shard
	// shared read table of an empty shard with a dirty table
	emptyAmended *readOnly[K, V]
	expunged     *node[V] // shared expunged marker with no history
	word         wordKind // whether updated values move back into their entries (moveBack)

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
		word:     wordKindOf[V](),
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
	c.emptyRead = &readOnly[K, V]{}
	c.emptyAmended = &readOnly[K, V]{amended: true}
	for i := range c.shards {
		c.shards[i].read.Store(c.emptyRead)
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

// find looks key up in t, which may be nil.
func (c *core[K, V]) find(t *table[K, V], h uint64, key K) (*entry[K, V], bool) {
	e := t.lookup(h, c.shardBits, key)
	return e, e != nil
}
