package bench

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/instrumented"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// BenchmarkInstrumentedLoad compares Load on a bare map with Load through the
// decorator, with the OpenTelemetry SDK and a reader attached, and with the
// global provider that no SDK was installed in.
func BenchmarkInstrumentedLoad(b *testing.B) {
	type loader interface{ Load(string) (int, bool) }
	// One map for all: the same memory layout, so that only the decorator
	// differs.
	m := warmed(mapx.New[string, int]())
	reader := sdkmetric.NewManualReader()
	sdk := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer sdk.Shutdown(context.Background())
	for _, impl := range []struct {
		name string
		wrap func(*mapx.Map[string, int]) loader
	}{
		{"mapx", func(m *mapx.Map[string, int]) loader { return m }},
		{"instrumented-sdk", func(m *mapx.Map[string, int]) loader {
			return instrumented.Wrap(m, instrumented.WithName("bench-sdk"), instrumented.WithMeterProvider(sdk))
		}},
		{"instrumented-global-noop", func(m *mapx.Map[string, int]) loader {
			return instrumented.Wrap(m, instrumented.WithName("bench-noop")) // the global provider, no SDK installed
		}},
	} {
		b.Run("impl="+impl.name, func(b *testing.B) {
			l := impl.wrap(m)
			if c, ok := l.(interface{ Close() error }); ok {
				defer c.Close()
			}
			var seed atomic.Uint64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				r := rng(seed.Add(0x9E3779B97F4A7C15))
				for pb.Next() {
					l.Load(warm[r.next()%warmKeys])
				}
			})
		})
	}
}
