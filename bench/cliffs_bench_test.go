package bench

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mapx-dev/mapx"
)

// apiMap is the sync.Map API over keys given by their index in a table of
// keys made in advance, so that making or boxing keys is not measured.
type apiMap interface {
	Load(i int) (int, bool)
	Store(i, v int)
	LoadOrStore(i, v int) (int, bool)
	LoadAndDelete(i int) (int, bool)
	Delete(i int)
	Swap(i, v int) (int, bool)
	CompareAndSwap(i, old, new int) bool
	CompareAndDelete(i, old int) bool
	Clear()
}

type mapxAPI[K comparable] struct {
	m *mapx.Map[K, int]
	k []K
}

func (a *mapxAPI[K]) Load(i int) (int, bool)           { return a.m.Load(a.k[i]) }
func (a *mapxAPI[K]) Store(i, v int)                   { a.m.Store(a.k[i], v) }
func (a *mapxAPI[K]) LoadOrStore(i, v int) (int, bool) { return a.m.LoadOrStore(a.k[i], v) }
func (a *mapxAPI[K]) LoadAndDelete(i int) (int, bool)  { return a.m.LoadAndDelete(a.k[i]) }
func (a *mapxAPI[K]) Delete(i int)                     { a.m.Delete(a.k[i]) }
func (a *mapxAPI[K]) Swap(i, v int) (int, bool)        { return a.m.Swap(a.k[i], v) }
func (a *mapxAPI[K]) CompareAndSwap(i, old, new int) bool {
	return mapx.CompareAndSwap(a.m, a.k[i], old, new)
}
func (a *mapxAPI[K]) CompareAndDelete(i, old int) bool {
	return mapx.CompareAndDelete(a.m, a.k[i], old)
}
func (a *mapxAPI[K]) Clear() { a.m.Clear() }

type syncAPI struct {
	m sync.Map
	k []any
}

func unbox(v any, ok bool) (int, bool) {
	if !ok {
		return 0, false
	}
	return v.(int), true
}

func (a *syncAPI) Load(i int) (int, bool)              { return unbox(a.m.Load(a.k[i])) }
func (a *syncAPI) Store(i, v int)                      { a.m.Store(a.k[i], v) }
func (a *syncAPI) LoadOrStore(i, v int) (int, bool)    { return unbox(a.m.LoadOrStore(a.k[i], v)) }
func (a *syncAPI) LoadAndDelete(i int) (int, bool)     { return unbox(a.m.LoadAndDelete(a.k[i])) }
func (a *syncAPI) Delete(i int)                        { a.m.Delete(a.k[i]) }
func (a *syncAPI) Swap(i, v int) (int, bool)           { return unbox(a.m.Swap(a.k[i], v)) }
func (a *syncAPI) CompareAndSwap(i, old, new int) bool { return a.m.CompareAndSwap(a.k[i], old, new) }
func (a *syncAPI) CompareAndDelete(i, old int) bool    { return a.m.CompareAndDelete(a.k[i], old) }
func (a *syncAPI) Clear()                              { a.m.Clear() }

// apiImpls are the implementations the cliff benchmarks compare, for keys
// of type string or any (the boxed strings that sync.Map users hold).
func apiImpls(keyType string, keys []string) []struct {
	Name string
	New  func() apiMap
} {
	boxed := make([]any, len(keys))
	for i, k := range keys {
		boxed[i] = k
	}
	mx := func() apiMap { return &mapxAPI[string]{m: mapx.New[string, int](), k: keys} }
	if keyType == "any" {
		mx = func() apiMap { return &mapxAPI[any]{m: mapx.New[any, int](), k: boxed} }
	}
	return []struct {
		Name string
		New  func() apiMap
	}{
		{"mapx", mx},
		{"sync.Map", func() apiMap { return &syncAPI{k: boxed} }},
	}
}

// cliffKeys are the map sizes of the cliff benchmarks; a pattern uses twice
// as many keys, the second half never stored, where it needs missing keys.
var cliffKeys = []int{1, 1 << 10, 1 << 20}

var cliffKeyTable = Keys(2 << 20)

// cliffPattern is one way of using the sync.Map API: fill stores the map's
// initial keys, op runs one operation on key i (of n) with value v.
type cliffPattern struct {
	name    string
	minKeys int // smallest size the pattern makes sense for
	maxKeys int // largest (0: any)
	fill    bool
	op      func(m apiMap, n, i, v int)
}

var cliffPatterns = []cliffPattern{
	// A key deleted and stored again, as a cache entry that is invalidated
	// and refilled.
	{name: "CompareAndDelete+Store", fill: true, op: func(m apiMap, n, i, v int) {
		if old, ok := m.Load(i); ok {
			m.CompareAndDelete(i, old)
		}
		m.Store(i, v)
	}},
	{name: "LoadAndDelete+Store", fill: true, op: func(m apiMap, n, i, v int) {
		m.LoadAndDelete(i)
		m.Store(i, v)
	}},
	// Compare-and-swap or -delete of keys the map does not hold.
	{name: "CompareAndSwapMissing", fill: true, op: func(m apiMap, n, i, v int) {
		m.CompareAndSwap(n+i, v, v+1)
	}},
	{name: "CompareAndDeleteMissing", fill: true, op: func(m apiMap, n, i, v int) {
		m.CompareAndDelete(n+i, v)
	}},
	// Swap of a key the map does not hold, which it then deletes.
	{name: "SwapMissing+Delete", fill: true, op: func(m apiMap, n, i, v int) {
		m.Swap(n+i, v)
		m.Delete(n + i)
	}},
	// A small map emptied again and again.
	{name: "Store+Clear", maxKeys: 1, op: func(m apiMap, n, i, v int) {
		m.Store(i, v)
		m.Clear()
	}},
	// Read-mostly and balanced use of a small or large map.
	{name: "Mix99", fill: true, minKeys: 1 << 10, op: mixOp(200)},
	{name: "Mix50", fill: true, minKeys: 1 << 10, op: mixOp(4)},
}

// mixOp stores one operation in period, deletes one, and loads the rest.
func mixOp(period int) func(m apiMap, n, i, v int) {
	return func(m apiMap, n, i, v int) {
		switch v % period {
		case 0:
			m.Store(i, v)
		case 1:
			m.Delete(i)
		default:
			m.Load(i)
		}
	}
}

// BenchmarkCliffs runs each pattern of the sync.Map API that used to meet a
// cliff in mapx (issue 14), at several map sizes and with string and any
// keys, next to sync.Map.
func BenchmarkCliffs(b *testing.B) {
	for _, p := range cliffPatterns {
		for _, n := range cliffKeys {
			if n < p.minKeys || p.maxKeys > 0 && n > p.maxKeys {
				continue
			}
			for _, kt := range []string{"string", "any"} {
				for _, impl := range apiImpls(kt, cliffKeyTable[:2*n]) {
					b.Run(fmt.Sprintf("%s/keys=%d/key=%s/impl=%s", p.name, n, kt, impl.Name), func(b *testing.B) {
						m := impl.New()
						if p.fill {
							for i := range n {
								m.Store(i, i)
							}
							for i := range n {
								m.Load(i)
							}
						}
						var seed atomic.Uint64
						runtime.GC()
						b.ReportAllocs()
						b.ResetTimer()
						defer cpuPerOp(b)()
						b.RunParallel(func(pb *testing.PB) {
							r := rng(seed.Add(0x9E3779B97F4A7C15))
							for pb.Next() {
								x := r.next()
								p.op(m, n, int(x%uint64(n)), int(x>>40))
							}
						})
					})
				}
			}
		}
	}
}
