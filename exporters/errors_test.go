package exporters_test

import (
	"context"
	"testing"
	"time"

	"github.com/mapx-dev/mapx/exporters"
)

// TestDeadCollectorDoesNotFloodErrors: with a dead OTLP endpoint and an
// export every 20 ms, the failures reach otel.Handle once, not once per
// export.
func TestDeadCollectorDoesNotFloodErrors(t *testing.T) {
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Run(protocol, func(t *testing.T) {
			exportFast(t)
			dead := closedPort(t)
			before := otelErrors.count(dead)
			tel, err := exporters.Setup(context.Background(), exporters.WithOTLP(protocol), exporters.WithOTLPEndpoint(dead),
				exporters.WithMetricInterval(20*time.Millisecond), exporters.WithRuntimeMetrics(false))
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				t.Logf("Shutdown: %v", tel.Shutdown(ctx)) // the last export fails
			}()
			tracer := tel.TracerProvider().Tracer("flood")
			meter := tel.MeterProvider().Meter("flood")
			counter, cerr := meter.Int64Counter("flood.ops")
			if cerr != nil {
				t.Fatal(cerr)
			}
			const window = 2 * time.Second
			for end := time.Now().Add(window); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
				_, span := tracer.Start(context.Background(), "op")
				span.End()
				counter.Add(context.Background(), 1)
			}
			got := otelErrors.count(dead) - before
			// One per signal: metrics and traces.
			if got < 1 || got > 2 {
				t.Fatalf("%d export errors reached otel.Handle in %v with exports every 20 ms, want 1 or 2: %v", got, window, otelErrors.all()[before:])
			}
			t.Logf("%d export errors reported in %v", got, window)
		})
	}
}
