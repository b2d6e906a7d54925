package instrumented

import (
	"context"
	"testing"

	"github.com/mapx-dev/mapx"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// TestClosedWrapperStopsTheMapCounting: when a wrapper's telemetry closes,
// as it does when the garbage collector finds a wrapper dropped without
// Close, whose observer stays on the map, the map stops counting loads.
func TestClosedWrapperStopsTheMapCounting(t *testing.T) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer mp.Shutdown(context.Background())
	m := mapx.New[int, int]()
	w := Wrap(m, WithName("dropped"), WithMeterProvider(mp))
	m.Load(1)
	if err := w.t.close(); err != nil { // what the cleanup does
		t.Fatal(err)
	}
	m.Load(1)
	if hits, misses := w.t.loads.Counts(); hits != 0 || misses != 1 {
		t.Fatalf("%d hits, %d misses counted; want 0, 1: the map counted after its wrapper closed", hits, misses)
	}
}
