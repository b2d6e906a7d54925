package exporters

import (
	"context"
	"fmt"
	"sync"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// exportErrorWindow is how often the failures of one OTLP exporter are
// reported to otel.Handle while they repeat: a collector that is down makes
// every export fail, several times a second with short intervals, and
// otel.Handle logs each error it gets.
const exportErrorWindow = time.Minute

// errorLimiter passes on the first failure of a run of failures, a new
// message at once, and then at most one failure per window, counting the
// ones it held back. A success ends the run.
type errorLimiter struct {
	window time.Duration
	now    func() time.Time

	mu         sync.Mutex
	last       string    // message of the last failure passed on
	lastAt     time.Time // when it was passed on
	suppressed int       // failures held back since
}

func newErrorLimiter(window time.Duration) *errorLimiter {
	return &errorLimiter{window: window, now: time.Now}
}

// filter returns the error to give the SDK for one export's err: nil for a
// failure held back (the SDK then reports nothing).
func (l *errorLimiter) filter(err error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		l.last, l.suppressed = "", 0
		return nil
	}
	now := l.now()
	msg := err.Error()
	if msg == l.last && now.Sub(l.lastAt) < l.window {
		l.suppressed++
		return nil
	}
	held := l.suppressed
	l.last, l.lastAt, l.suppressed = msg, now, 0
	if held > 0 {
		return fmt.Errorf("%w (and %d more failed exports not reported)", err, held)
	}
	return err
}

// limitedMetricExporter reports an OTLP metric exporter's failures through
// an errorLimiter.
type limitedMetricExporter struct {
	sdkmetric.Exporter
	errs *errorLimiter
}

func limitMetricErrors(e sdkmetric.Exporter) sdkmetric.Exporter {
	return &limitedMetricExporter{Exporter: e, errs: newErrorLimiter(exportErrorWindow)}
}

func (e *limitedMetricExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	return e.errs.filter(e.Exporter.Export(ctx, rm))
}

// limitedSpanExporter reports an OTLP span exporter's failures through an
// errorLimiter.
type limitedSpanExporter struct {
	sdktrace.SpanExporter
	errs *errorLimiter
}

func limitSpanErrors(e sdktrace.SpanExporter) sdktrace.SpanExporter {
	return &limitedSpanExporter{SpanExporter: e, errs: newErrorLimiter(exportErrorWindow)}
}

func (e *limitedSpanExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	return e.errs.filter(e.SpanExporter.ExportSpans(ctx, spans))
}
