package instrumented

import (
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"time"

	"github.com/mapx-dev/mapx"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// longOp starts the span and the profile labels of a long operation; the
// returned function ends them.
//
// The span is a child of ctx's span; with no span in ctx there is none,
// unless WithRootSpans asked for roots, so that a call without a context
// does not start a trace of its own.
//
// The labels follow pprof.Do: the goroutine runs under ctx's labels plus
// mapx.name and mapx.operation, and under ctx's labels again afterwards. A
// call without a context (ctx is context.Background()) sets none: the
// goroutine's labels cannot be read back, and setting them would lose those
// of a caller inside pprof.Do.
func (t *telemetry) longOp(ctx context.Context, op string) (context.Context, trace.Span, func()) {
	span := trace.SpanFromContext(ctx) // non-recording when ctx has none
	if t.rootSpans || span.SpanContext().IsValid() {
		ctx, span = t.tracer.Start(ctx, "mapx."+op, trace.WithAttributes(t.spanAttrs...))
	} else {
		span = trace.SpanFromContext(context.Background())
	}
	if ctx == context.Background() {
		return ctx, span, func() { span.End() }
	}
	labelled := pprof.WithLabels(ctx, t.labels)
	labelled = pprof.WithLabels(labelled, pprof.Labels("mapx.operation", op))
	pprof.SetGoroutineLabels(labelled)
	return ctx, span, func() {
		pprof.SetGoroutineLabels(ctx)
		span.End()
	}
}

// failed marks span as failed with err, and its error.type.
func failed(span trace.Span, err error) {
	span.SetStatus(codes.Error, err.Error())
	span.SetAttributes(keyErrorType.String(errorType(err)))
}

// errorType is the error.type of err: a low-cardinality name, as the
// semantic conventions ask.
func errorType(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "context.Canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "context.DeadlineExceeded"
	case errors.Is(err, mapx.ErrBackpressure):
		return "mapx.ErrBackpressure"
	}
	return fmt.Sprintf("%T", err)
}

// observer is the core's Observer for a wrapped map: it traces and times
// iterations and waits.
type observer struct{ t *telemetry }

// LoadCounter makes the map count its own loads (mapx.Observer).
func (o observer) LoadCounter() *mapx.LoadCounter { return o.t.loads }

func (o observer) IterationStarted(ctx context.Context, snapshot bool) func(mapx.Iteration) {
	return o.t.iterationStarted(ctx, snapshot)
}

func (t *telemetry) iterationStarted(ctx context.Context, snapshot bool) func(mapx.Iteration) {
	op := "range"
	if snapshot {
		op = "snapshot.range"
	}
	start := time.Now()
	_, span, end := t.longOp(ctx, op)
	return func(it mapx.Iteration) {
		span.SetAttributes(keyVisited.Int(it.Visited), keyOutcome.String(it.Outcome.String()))
		if it.Outcome == mapx.Cancelled {
			span.AddEvent("mapx.iteration.cancelled", trace.WithAttributes(keyVisited.Int(it.Visited)))
			failed(span, it.Err)
		}
		end()
		t.g.recordDuration(ctx, mIterationDuration, time.Since(start).Seconds(), t.g.outcomeSets[it.Outcome])
	}
}

func (o observer) WaitStarted(ctx context.Context) func(error) {
	_, span, end := o.t.longOp(ctx, "store_wait")
	return func(err error) {
		if err != nil {
			failed(span, err)
		}
		end()
	}
}
