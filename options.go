package mapx

import (
	"fmt"
	"math"
	"math/bits"
	"runtime"
)

// An Option configures a [Map] built by [New]. Options are sealed: only the
// With* functions of this package make them. An invalid option makes [New]
// panic with a message that names the option, because a wrong configuration
// is a programming error that should surface at start-up, not under load.
type Option interface {
	apply(*config)
}

type config struct {
	shards     int
	maxEntries int64
	rate       float64
	burst      int
	hasher     any // func(K) uint64, checked against K in New
	codec      Codec
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithShards sets the number of shards. n must be positive; it is rounded up
// to a power of two. The default is the smallest power of two that is at least
// 4×GOMAXPROCS, and never below 64.
func WithShards(n int) Option {
	if n <= 0 {
		panic(fmt.Sprintf("mapx: WithShards(%d): the number of shards must be positive", n))
	}
	if n > 1<<20 {
		panic(fmt.Sprintf("mapx: WithShards(%d): at most %d shards", n, 1<<20))
	}
	return optionFunc(func(c *config) { c.shards = n })
}

// WithMaxEntries caps the number of entries that admission-controlled writes
// ([Map.TryStore], [Map.StoreWait]) may create. n must not be negative; 0 means
// no cap (the default). Plain [Map.Store] and the other sync.Map-style writes
// bypass the cap but are counted against it.
func WithMaxEntries(n int) Option {
	if n < 0 {
		panic(fmt.Sprintf("mapx: WithMaxEntries(%d): the cap must not be negative (0 means no cap)", n))
	}
	return optionFunc(func(c *config) { c.maxEntries = int64(n) })
}

// WithInsertRate limits admission-controlled inserts of new keys with a token
// bucket that refills at perSecond tokens per second and holds at most burst
// tokens (it starts full). perSecond must be positive and finite; burst must be
// at least 1.
func WithInsertRate(perSecond float64, burst int) Option {
	if !(perSecond > 0) || math.IsInf(perSecond, 0) {
		panic(fmt.Sprintf("mapx: WithInsertRate(%v, %d): perSecond must be positive and finite", perSecond, burst))
	}
	if burst < 1 {
		panic(fmt.Sprintf("mapx: WithInsertRate(%v, %d): burst must be at least 1", perSecond, burst))
	}
	return optionFunc(func(c *config) { c.rate, c.burst = perSecond, burst })
}

// WithHasher replaces the default hash (hash/maphash with a per-map random
// seed). Equality of keys stays Go's ==: two keys that are == must hash
// alike. The hash picks a key's shard, its group in the shard's tables and
// the tag that lookups compare before they compare keys, so a poor hash
// costs time, never correctness: keys that hash alike share one shard and
// one probe sequence, and a lookup compares every one of them, so a
// constant hash makes each operation linear in the number of keys. K must
// be the map's key type, or New panics.
func WithHasher[K comparable](hash func(K) uint64) Option {
	if hash == nil {
		panic("mapx: WithHasher(nil): the hash function must not be nil")
	}
	return optionFunc(func(c *config) {
		c.hasher = hash
	})
}

// WithCodec sets the codec that [Snapshot.WriteTo] and [Map.ReadFrom] use
// for keys and values; the default is [GobCodec]. A stream records its
// codec's ID, and reading refuses a stream written with another.
func WithCodec(c Codec) Option {
	if c == nil {
		panic("mapx: WithCodec(nil): the codec must not be nil")
	}
	if id := c.ID(); len(id) == 0 || len(id) > maxCodecIDLen {
		panic(fmt.Sprintf("mapx: WithCodec: codec ID %q must have 1 to %d bytes", id, maxCodecIDLen))
	}
	return optionFunc(func(cfg *config) { cfg.codec = c })
}

func defaultShards() int {
	n := 4 * runtime.GOMAXPROCS(0)
	if n < 64 {
		n = 64
	}
	return n
}

func ceilPow2(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}
