package bench

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mapx-dev/mapx"
)

const warmKeys = 64 << 10

var warm = Keys(warmKeys)

// warmed stores the warm keys in m and loads each once, so that a mapx map
// has promoted them into its read tables before the timing starts.
func warmed[M interface {
	Store(string, int)
	Load(string) (int, bool)
}](m M) M {
	for i, k := range warm {
		m.Store(k, i)
	}
	for _, k := range warm {
		m.Load(k)
	}
	return m
}

// BenchmarkMix runs a mix of loads on 64K warm keys; the rest of the
// operations are half stores, half deletes of the same keys.
func BenchmarkMix(b *testing.B) {
	for _, loads := range []int{100, 99, 90, 75, 50} {
		for _, impl := range Impls {
			b.Run(fmt.Sprintf("loads=%d/impl=%s", loads, impl.Name), func(b *testing.B) {
				m := warmed(impl.New())
				var seed atomic.Uint64
				b.ReportAllocs()
				b.ResetTimer()
				defer cpuPerOp(b)()
				b.RunParallel(func(pb *testing.PB) {
					r := rng(seed.Add(0x9E3779B97F4A7C15))
					for pb.Next() {
						x := r.next()
						k := warm[x%warmKeys]
						switch op := int(x>>32) % 200; {
						case op < 2*loads:
							m.Load(k)
						case op%2 == 0:
							m.Store(k, int(x))
						default:
							m.Delete(k)
						}
					}
				})
			})
		}
	}
}

// BenchmarkChurn inserts ever-new keys and deletes the oldest, so the map
// keeps a steady size of 64K while its keys change; half the operations are
// loads of recent keys.
func BenchmarkChurn(b *testing.B) {
	ring := Keys(1 << 20)
	for _, impl := range Impls {
		b.Run("impl="+impl.Name, func(b *testing.B) {
			m := impl.New()
			var next atomic.Uint64
			for range warmKeys {
				i := next.Add(1)
				m.Store(ring[i%uint64(len(ring))], int(i))
			}
			mm, isMapx := m.(*mapx.Map[string, int])
			var st0 mapx.Stats
			if isMapx {
				st0 = mm.Stats()
			}
			b.ReportAllocs()
			b.ResetTimer()
			reportCPU := cpuPerOp(b)
			b.RunParallel(func(pb *testing.PB) {
				r := rng(next.Load()*0x9E3779B97F4A7C15 + 1)
				for pb.Next() {
					if r.next()%2 == 0 {
						cur := next.Load()
						m.Load(ring[(cur-r.next()%warmKeys)%uint64(len(ring))])
						continue
					}
					i := next.Add(1)
					m.Store(ring[i%uint64(len(ring))], int(i))
					m.Delete(ring[(i-warmKeys)%uint64(len(ring))])
				}
			})
			reportCPU()
			if isMapx {
				// How often the read/dirty design takes its slow path here.
				b.StopTimer()
				st := mm.Stats()
				b.ReportMetric(float64(st.ReadMisses-st0.ReadMisses)/float64(b.N), "misses/op")
				b.ReportMetric(float64(st.Promotions-st0.Promotions)/float64(b.N)*1e3, "promotions/kop")
			}
		})
	}
}

// BenchmarkRange1M iterates a map of 1M entries.
func BenchmarkRange1M(b *testing.B) {
	keys := Keys(1 << 20)
	for _, impl := range Impls {
		b.Run("impl="+impl.Name, func(b *testing.B) {
			m := impl.New()
			for i, k := range keys {
				m.Store(k, i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				n := 0
				m.Range(func(string, int) bool { n++; return true })
				if n != len(keys) {
					b.Fatalf("visited %d", n)
				}
			}
		})
	}
}

// BenchmarkSnapshot takes and closes a snapshot of a map of n entries.
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("entries=%d/impl=mapx", n), func(b *testing.B) {
			m := mapx.New[string, int]()
			for i, k := range Keys(n) {
				m.Store(k, i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				m.Snapshot().Close()
			}
		})
	}
}

// BenchmarkStoreWhileSnapshotHeld stores existing keys with and without an
// open snapshot.
func BenchmarkStoreWhileSnapshotHeld(b *testing.B) {
	for _, held := range []bool{false, true} {
		b.Run(fmt.Sprintf("snapshot=%v/impl=mapx", held), func(b *testing.B) {
			m := warmed(mapx.New[string, int]())
			if held {
				s := m.Snapshot()
				defer s.Close()
			}
			var seed atomic.Uint64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				r := rng(seed.Add(0x9E3779B97F4A7C15))
				for pb.Next() {
					x := r.next()
					m.Store(warm[x%warmKeys], int(x))
				}
			})
		})
	}
}

// BenchmarkHeapPerEntry reports the heap that 1M string→int entries take,
// key strings excluded (they are made before the measurement and shared).
func BenchmarkHeapPerEntry(b *testing.B) {
	const n = 1 << 20
	keys := Keys(n)
	for _, impl := range Impls {
		b.Run("impl="+impl.Name, func(b *testing.B) {
			var perEntry float64
			for b.Loop() {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				m := impl.New()
				for i, k := range keys {
					m.Store(k, i+1000) // past the runtime's preallocated small integers
				}
				for _, k := range keys {
					m.Load(k)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perEntry = float64(after.HeapAlloc-before.HeapAlloc) / n
				runtime.KeepAlive(m)
			}
			b.ReportMetric(perEntry, "B/entry")
		})
	}
}

// BenchmarkPersist writes and reads back a snapshot of 1M string→int
// entries with the default codec.
func BenchmarkPersist(b *testing.B) {
	const n = 1_000_000
	m := mapx.New[string, int]()
	for i, k := range Keys(n) {
		m.Store(k, i)
	}
	s := m.Snapshot()
	defer s.Close()
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		b.Fatal(err)
	}
	b.Run("op=WriteTo/impl=mapx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.WriteTo(io.Discard); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(buf.Len()), "bytes")
	})
	b.Run("op=ReadFrom/impl=mapx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dst := mapx.New[string, int]()
			if _, err := dst.ReadFrom(bytes.NewReader(buf.Bytes())); err != nil || dst.Len() != n {
				b.Fatal(err, dst.Len())
			}
		}
	})
}

// BenchmarkGrowth fills an empty map with 1M keys from 2 goroutines while 2
// others load keys already stored; ns/op is the time of one whole fill.
func BenchmarkGrowth(b *testing.B) {
	const n = 1 << 20
	keys := Keys(n)
	for _, impl := range Impls {
		b.Run("impl="+impl.Name, func(b *testing.B) {
			b.ReportAllocs()
			reportCPU := cpuPerOp(b)
			for range b.N {
				m := impl.New()
				var stored [2]atomic.Int64 // keys stored by each writer: w, w+2, w+4...
				var done atomic.Bool
				var wg sync.WaitGroup
				for w := range 2 {
					wg.Go(func() {
						for i := w; i < n; i += 2 {
							m.Store(keys[i], i)
							stored[w].Add(1)
						}
					})
				}
				for r := range 2 {
					wg.Go(func() {
						x := rng(r + 1)
						for !done.Load() {
							if k := 2 * min(stored[0].Load(), stored[1].Load()); k > 0 {
								m.Load(keys[x.next()%uint64(k)])
							}
						}
					})
				}
				for stored[0].Load()+stored[1].Load() < n {
					runtime.Gosched()
				}
				done.Store(true)
				wg.Wait()
			}
			reportCPU()
		})
	}
}
