package instrumented_test

import (
	"context"
	"fmt"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/instrumented"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// A reader with a Producer gets the durations, and stops getting a map's
// series after the collection that follows its Close.
func ExampleNewProducer() {
	p := instrumented.NewProducer()
	defer p.Close()
	reader := sdkmetric.NewManualReader(sdkmetric.WithProducer(p))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())

	m := instrumented.Wrap(mapx.New[string, int](), instrumented.WithName("example"),
		instrumented.WithMeterProvider(mp), instrumented.WithDurationSampling(1))
	m.Store("a", 1)
	m.Load("a") // timed
	timed := func() (n uint64) {
		var rm metricdata.ResourceMetrics
		_ = reader.Collect(context.Background(), &rm)
		for _, sm := range rm.ScopeMetrics {
			for _, met := range sm.Metrics {
				if h, ok := met.Data.(metricdata.Histogram[float64]); ok && met.Name == "mapx.operation.duration" {
					for _, dp := range h.DataPoints {
						n += dp.Count
					}
				}
			}
		}
		return n
	}
	fmt.Println("timed:", timed())
	_ = m.Close()
	fmt.Println("after Close:", timed())
	fmt.Println("then:", timed())
	// Output:
	// timed: 1
	// after Close: 1
	// then: 0
}
