package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/instrumented"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// BenchmarkOperationDurations measures what mapx.operation.duration sees:
// Loads through the decorator, one in 64 timed, into buckets 10 % apart;
// it reports the quantiles' upper bucket bounds in ns, the data the
// explicit buckets of instrumented.HistogramBuckets are chosen from.
func BenchmarkOperationDurations(b *testing.B) {
	var bounds []float64
	for ns := 20.0; ns <= 100_000; ns *= 1.1 {
		bounds = append(bounds, ns*1e-9)
	}
	view := sdkmetric.NewView(sdkmetric.Instrument{Name: "mapx.operation.duration"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: bounds}})
	m := warmed(mapx.New[string, int]())
	for _, p := range loadPatterns {
		b.Run("pattern="+p.name, func(b *testing.B) {
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithView(view))
			defer mp.Shutdown(context.Background())
			w := instrumented.Wrap(m, instrumented.WithName("durations"), instrumented.WithMeterProvider(mp), instrumented.WithDurationSampling(64))
			defer w.Close()
			var seed atomic.Uint64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				next := p.next(seed.Add(0x9E3779B97F4A7C15))
				for pb.Next() {
					w.Load(warm[next()])
				}
			})
			var rm metricdata.ResourceMetrics
			if err := reader.Collect(context.Background(), &rm); err != nil {
				b.Fatal(err)
			}
			for _, sm := range rm.ScopeMetrics {
				for _, met := range sm.Metrics {
					h, ok := met.Data.(metricdata.Histogram[float64])
					if !ok || met.Name != "mapx.operation.duration" || len(h.DataPoints) == 0 {
						continue
					}
					dp := h.DataPoints[0]
					for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
						b.ReportMetric(quantileBound(dp, q)*1e9, fmt.Sprintf("p%g-ns", q*100))
					}
				}
			}
		})
	}
}

// quantileBound returns the upper bound of the bucket that holds quantile q.
func quantileBound(dp metricdata.HistogramDataPoint[float64], q float64) float64 {
	var cum uint64
	for i, c := range dp.BucketCounts {
		cum += c
		if float64(cum) >= q*float64(dp.Count) {
			if i < len(dp.Bounds) {
				return dp.Bounds[i]
			}
			break
		}
	}
	v, _ := dp.Max.Value()
	return v
}
