package bench

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/instrumented"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// loadPattern makes one goroutine's sequence of indexes into warm.
type loadPattern struct {
	name string
	next func(seed uint64) func() uint64
}

// zipfSeq is a fixed sequence of Zipf-distributed (s=1.1) indexes, so that
// drawing them costs the same, a slice read, for every implementation.
var zipfSeq = func() []uint32 {
	z := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, warmKeys-1)
	seq := make([]uint32, 1<<20)
	for i := range seq {
		seq[i] = uint32(z.Uint64())
	}
	return seq
}()

var loadPatterns = []loadPattern{
	{"random", func(seed uint64) func() uint64 {
		r := rng(seed)
		return func() uint64 { return r.next() % warmKeys }
	}},
	// A fixed odd stride visits every key in turn, each far from the last:
	// the prefetcher cannot help, and no key is hot.
	{"strided", func(seed uint64) func() uint64 {
		i := seed % warmKeys
		return func() uint64 { i = (i + 4099) % warmKeys; return i }
	}},
	// A few keys take most loads, as in caches.
	{"zipf", func(seed uint64) func() uint64 {
		i := seed % uint64(len(zipfSeq))
		return func() uint64 { i = (i + 1) % uint64(len(zipfSeq)); return uint64(zipfSeq[i]) }
	}},
}

// BenchmarkInstrumentedLoad compares Load on a bare map with Load through the
// decorator: with the OpenTelemetry SDK and a reader (exact counts), with
// the SDK and WithOperationCounts(false), and with the global provider that
// no SDK was installed in; on random, strided and Zipf keys. It reports
// cpu-ns/op and thread-ns/op too (pairs -unit cpu-ns/op, -unit
// thread-ns/op).
func BenchmarkInstrumentedLoad(b *testing.B) {
	type loader interface{ Load(string) (int, bool) }
	// One map for all: the same memory layout, so that only the decorator
	// differs.
	m := warmed(mapx.New[string, int]())
	reader := sdkmetric.NewManualReader()
	sdk := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer sdk.Shutdown(context.Background())
	impls := []struct {
		name string
		wrap func(*mapx.Map[string, int]) loader
	}{
		{"mapx", func(m *mapx.Map[string, int]) loader { return m }},
		{"instrumented-sdk", func(m *mapx.Map[string, int]) loader {
			return instrumented.Wrap(m, instrumented.WithName("bench-sdk"), instrumented.WithMeterProvider(sdk))
		}},
		{"instrumented-sdk-nocounts", func(m *mapx.Map[string, int]) loader {
			return instrumented.Wrap(m, instrumented.WithName("bench-nocounts"), instrumented.WithMeterProvider(sdk),
				instrumented.WithOperationCounts(false))
		}},
		{"instrumented-global-noop", func(m *mapx.Map[string, int]) loader {
			return instrumented.Wrap(m, instrumented.WithName("bench-noop")) // the global provider, no SDK installed
		}},
	}
	// Each process starts at another implementation, so that none always
	// runs after the same one (in caches and pages it left).
	first := rand.IntN(len(impls))
	for _, p := range loadPatterns {
		for k := range impls {
			impl := impls[(first+k)%len(impls)]
			b.Run("pattern="+p.name+"/impl="+impl.name, func(b *testing.B) {
				l := impl.wrap(m)
				if c, ok := l.(interface{ Close() error }); ok {
					defer c.Close()
				}
				var seed atomic.Uint64
				b.ReportAllocs()
				b.ResetTimer()
				defer cpuPerOp(b)()
				var threads threadCPU
				defer threads.report(b)
				b.RunParallel(func(pb *testing.PB) {
					defer threads.start()()
					next := p.next(seed.Add(0x9E3779B97F4A7C15))
					for pb.Next() {
						l.Load(warm[next()])
					}
				})
			})
		}
	}
}
