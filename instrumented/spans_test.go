package instrumented_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/instrumented"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestContextVariantsMakeChildSpans(t *testing.T) {
	h := newHarness(t)
	w := instrumented.Wrap(mapx.New[int, int](), h.opts("children")...)
	defer w.Close()
	w.Store(1, 1)
	ctx, parent := h.tp.Tracer("test").Start(context.Background(), "request")
	s := w.SnapshotContext(ctx)
	_ = s.RangeContext(ctx, func(int, int) bool { return true })
	s.Close()
	_ = w.RangeContext(ctx, func(int, int) bool { return true })
	_, _ = w.ReadFromContext(ctx, strings.NewReader("not a stream"))
	w.ClearContext(ctx)
	parent.End()

	want := []string{"mapx.snapshot", "mapx.snapshot.range", "mapx.range", "mapx.read_from", "mapx.clear"}
	var got []string
	for _, sp := range h.spans.Ended() {
		if sp.Name() == "request" {
			continue
		}
		got = append(got, sp.Name())
		if sp.Parent().SpanID() != parent.SpanContext().SpanID() || sp.SpanContext().TraceID() != parent.SpanContext().TraceID() {
			t.Errorf("%s: parent %v, want the caller's span %v", sp.Name(), sp.Parent().SpanID(), parent.SpanContext().SpanID())
		}
		if sp.Name() == "mapx.read_from" {
			if sp.Status().Code != codes.Error || attrs(sp)["error.type"] == "" {
				t.Errorf("failed ReadFrom: status %v, attributes %v: want Error and error.type", sp.Status(), attrs(sp))
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("spans %v, want %v", got, want)
	}
}

func attrs(sp sdktrace.ReadOnlySpan) map[string]string {
	out := map[string]string{}
	for _, a := range sp.Attributes() {
		out[string(a.Key)] = a.Value.String()
	}
	return out
}

func TestNoRootSpansByDefault(t *testing.T) {
	h := newHarness(t)
	w := instrumented.Wrap(mapx.New[int, int](), h.opts("quiet")...)
	defer w.Close()
	w.Store(1, 1)
	w.Snapshot().Close()
	w.Range(func(int, int) bool { return true })
	for range w.All() {
	}
	_ = w.RangeContext(context.Background(), func(int, int) bool { return true })
	w.Clear()
	_, _ = w.ReadFrom(strings.NewReader(""))
	if n := len(h.spans.Ended()); n != 0 {
		t.Fatalf("%d spans without a parent span or WithRootSpans", n)
	}
	// Still timed.
	if got := h.collect(t).value(t, "mapx.iteration.duration", "mapx.name=quiet,mapx.outcome=complete"); got != 3 {
		t.Fatalf("%v iterations timed, want 3", got)
	}
}

func TestCancelledIterationSpanHasErrorType(t *testing.T) {
	h := newHarness(t)
	w := instrumented.Wrap(mapx.New[int, int](), h.opts("cancel")...)
	defer w.Close()
	for i := range 1000 {
		w.Store(i, i)
	}
	ctx, parent := h.tp.Tracer("test").Start(context.Background(), "request")
	ctx, cancel := context.WithCancel(ctx)
	_ = w.RangeContext(ctx, func(int, int) bool { cancel(); return true })
	parent.End()
	sp := h.spans.Ended()[0]
	if sp.Name() != "mapx.range" || sp.Status().Code != codes.Error || attrs(sp)["error.type"] != "context.Canceled" {
		t.Fatalf("span %s, status %v, attributes %v", sp.Name(), sp.Status(), attrs(sp))
	}
}

// goroutineLabels returns the profile labels of the goroutine whose stack
// holds fn, from the goroutine profile.
func goroutineLabels(t *testing.T, fn string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		t.Fatal(err)
	}
	for _, rec := range strings.Split(buf.String(), "\n\n") {
		if strings.Contains(rec, fn) && strings.Contains(rec, "goroutineLabels") {
			for _, line := range strings.Split(rec, "\n") {
				if l, ok := strings.CutPrefix(line, "# labels: "); ok {
					return l
				}
			}
			return ""
		}
	}
	t.Fatalf("no goroutine running %s in the profile", fn)
	return ""
}

func TestProfileLabelsKeptUnderPprofDo(t *testing.T) {
	h := newHarness(t)
	w := instrumented.Wrap(mapx.New[int, int](), h.opts("labelled")...)
	defer w.Close()
	w.Store(1, 1)
	const fn = "TestProfileLabelsKeptUnderPprofDo"
	pprof.Do(context.Background(), pprof.Labels("request", "r1"), func(ctx context.Context) {
		check := func(after string) {
			if l := goroutineLabels(t, fn); !strings.Contains(l, `"request":"r1"`) || strings.Contains(l, "mapx.") {
				t.Errorf("labels after %s: %s, want the caller's request:r1 only", after, l)
			}
		}
		check("nothing")
		w.Snapshot().Close()
		check("Snapshot")
		w.Range(func(int, int) bool { return true })
		check("Range")
		w.Clear()
		check("Clear")
		w.Store(1, 1)
		w.SnapshotContext(ctx).Close()
		check("SnapshotContext")
		var during string
		_ = w.RangeContext(ctx, func(int, int) bool { during = goroutineLabels(t, fn); return true })
		check("RangeContext")
		for _, want := range []string{`"request":"r1"`, `"mapx.name":"labelled"`, `"mapx.operation":"range"`} {
			if !strings.Contains(during, want) {
				t.Errorf("labels during RangeContext: %s, want %s among them", during, want)
			}
		}
		w.ClearContext(ctx)
		check("ClearContext")
		_, _ = w.ReadFromContext(ctx, strings.NewReader(""))
		check("ReadFromContext")
	})
}

func TestNilProvidersMeanTheGlobalOnes(t *testing.T) {
	w := instrumented.Wrap(mapx.New[int, int](), instrumented.WithName("nil-providers"),
		instrumented.WithMeterProvider(nil), instrumented.WithTracerProvider(nil))
	defer w.Close()
	w.Store(1, 1)
	w.SnapshotContext(context.Background()).Close()
}

func TestSampleFloorTimesQuietMaps(t *testing.T) {
	defer instrumented.SetSampleFloorInterval(10 * time.Millisecond)()
	h := newHarness(t)
	w := instrumented.Wrap(mapx.New[int, int](), h.opts("quiet-traffic")...)
	defer w.Close()
	// Far fewer operations than DefaultDurationSampling: only the floor
	// times any of them.
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		w.Load(i)
		if _, ok := h.collect(t).points["mapx.operation.duration"]["mapx.name=quiet-traffic,mapx.operation=load"]; ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no load timed after %d loads", i+1)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSyncMapContextVariants(t *testing.T) {
	h := newHarness(t)
	var sm sync.Map
	w := instrumented.WrapSyncMap(&sm, h.opts("legacy-spans")...)
	defer w.Close()
	for i := range 1000 {
		w.Store(i, i)
	}
	w.Range(func(any, any) bool { return true })
	w.Clear()
	if n := len(h.spans.Ended()); n != 0 {
		t.Fatalf("%d spans without a parent span", n)
	}
	for i := range 1000 {
		w.Store(i, i)
	}
	ctx, parent := h.tp.Tracer("test").Start(context.Background(), "request")
	cctx, cancel := context.WithCancel(ctx)
	visited := 0
	err := w.RangeContext(cctx, func(any, any) bool { visited++; cancel(); return true })
	if !errors.Is(err, context.Canceled) || visited != 1 {
		t.Errorf("RangeContext cancelled in its first callback: %v after %d entries", err, visited)
	}
	w.ClearContext(ctx)
	parent.End()
	var names []string
	for _, sp := range h.spans.Ended() {
		if sp.Name() == "request" {
			continue
		}
		names = append(names, sp.Name())
		if sp.Parent().SpanID() != parent.SpanContext().SpanID() {
			t.Errorf("%s is not a child of the caller's span", sp.Name())
		}
	}
	if fmt.Sprint(names) != "[mapx.range mapx.clear]" {
		t.Fatalf("spans %v", names)
	}
	if got := h.collect(t).value(t, "mapx.entries", "mapx.name=legacy-spans"); got != 0 {
		t.Errorf("entries after ClearContext = %v", got)
	}
}
