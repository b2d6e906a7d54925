package instrumented_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/instrumented"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type harness struct {
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
}

func newHarness(t *testing.T) *harness {
	h := &harness{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	h.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	h.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	t.Cleanup(func() {
		_ = h.mp.Shutdown(context.Background())
		_ = h.tp.Shutdown(context.Background())
	})
	return h
}

func (h *harness) opts(name string) []instrumented.Option {
	return []instrumented.Option{instrumented.WithName(name), instrumented.WithMeterProvider(h.mp), instrumented.WithTracerProvider(h.tp)}
}

// point is one data point: its attributes as "k=v,..." and its value.
type collected struct {
	units  map[string]string
	points map[string]map[string]float64 // metric → attributes → value (count for histograms)
}

func (h *harness) collect(t *testing.T) collected {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	c := collected{units: map[string]string{}, points: map[string]map[string]float64{}}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != instrumented.ScopeName || sm.Scope.Version != instrumented.Version {
			t.Fatalf("scope %+v", sm.Scope)
		}
		for _, m := range sm.Metrics {
			c.units[m.Name] = m.Unit
			pts := map[string]float64{}
			kind := kindOf(t, m.Name)
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if d.IsMonotonic != (kind == instrumented.Counter) || d.Temporality != metricdata.CumulativeTemporality {
					t.Fatalf("%s: a %v, but a sum with IsMonotonic %v, temporality %v", m.Name, kind, d.IsMonotonic, d.Temporality)
				}
				for _, p := range d.DataPoints {
					pts[attrString(p.Attributes)] = float64(p.Value)
				}
			case metricdata.Gauge[float64]:
				if kind != instrumented.Gauge {
					t.Fatalf("%s: a %v, exported as a gauge", m.Name, kind)
				}
				for _, p := range d.DataPoints {
					pts[attrString(p.Attributes)] = p.Value
				}
			case metricdata.Histogram[float64]:
				if kind != instrumented.Histogram {
					t.Fatalf("%s: a %v, exported as a histogram", m.Name, kind)
				}
				for _, p := range d.DataPoints {
					pts[attrString(p.Attributes)] = float64(p.Count)
				}
			default:
				t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
			}
			c.points[m.Name] = pts
		}
	}
	return c
}

// kindOf returns the kind the table gives metric.
func kindOf(t *testing.T, metric string) instrumented.Kind {
	t.Helper()
	for _, m := range instrumented.Metrics() {
		if m.Name == metric {
			return m.Kind
		}
	}
	t.Fatalf("%s is not in instrumented.Metrics()", metric)
	return 0
}

func attrString(s attribute.Set) string {
	out := ""
	for _, kv := range s.ToSlice() {
		if out != "" {
			out += ","
		}
		out += string(kv.Key) + "=" + kv.Value.String()
	}
	return out
}

func (c collected) value(t *testing.T, metric, attrs string) float64 {
	t.Helper()
	v, ok := c.points[metric][attrs]
	if !ok {
		t.Fatalf("%s{%s} missing; have %v", metric, attrs, c.points[metric])
	}
	return v
}

func TestMetricsCountEventsExactly(t *testing.T) {
	h := newHarness(t)
	m := mapx.New[string, int](mapx.WithMaxEntries(5), mapx.WithShards(4))
	w := instrumented.Wrap(m, h.opts("orders")...)
	defer w.Close()

	for i := range 5 {
		w.Store(fmt.Sprint(i), i) // 5 stores
	}
	for i := range 7 {
		w.Load(fmt.Sprint(i)) // 5 hits, 2 misses
	}
	w.LoadOrStore("0", 9) // hit
	w.LoadOrStore("x", 9) // miss (stored: 6 entries, over the cap)
	w.LoadAndDelete("x")  // hit
	w.LoadAndDelete("x")  // miss
	w.Delete("4")         // 4 entries
	w.Swap("4", 4)        // miss
	w.Swap("4", 4)        // hit
	w.Compute("c", func(int, bool) (int, mapx.ComputeOp) { return 1, mapx.UpdateOp })
	_ = w.TryStore("t1", 1) // rejected: 6 entries, cap 5
	_ = w.TryStore("0", 1)  // ok: an update
	_ = w.StoreWait(context.Background(), "t2", 1)
	instrumented.CompareAndSwap(w, "0", 1, 2) // ok
	instrumented.CompareAndSwap(w, "0", 1, 2) // failed
	instrumented.CompareAndDelete(w, "0", 7)  // failed
	w.Range(func(string, int) bool { return true })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = w.RangeContext(ctx, func(string, int) bool { return true })
	s := w.Snapshot()
	s.Range(func(string, int) bool { return false })

	c := h.collect(t)
	name := "mapx.name=orders"
	ops := map[string]float64{
		"load,mapx.result=hit": 5, "load,mapx.result=miss": 2, "store": 5,
		"load_or_store,mapx.result=hit": 1, "load_or_store,mapx.result=miss": 1,
		"load_and_delete,mapx.result=hit": 1, "load_and_delete,mapx.result=miss": 1,
		"delete": 1, "swap,mapx.result=hit": 1, "swap,mapx.result=miss": 1, "compute": 1,
		"try_store,mapx.result=rejected": 1, "try_store,mapx.result=ok": 1, "store_wait,mapx.result=rejected": 1,
		"compare_and_swap,mapx.result=ok": 1, "compare_and_swap,mapx.result=failed": 1,
		"compare_and_delete,mapx.result=failed": 1, "range": 2, "snapshot": 1,
	}
	for k, want := range ops {
		if got := c.value(t, "mapx.operations", name+",mapx.operation="+k); got != want {
			t.Errorf("mapx.operations{%s} = %v, want %v", k, got, want)
		}
	}
	if n := len(c.points["mapx.operations"]); n != len(ops) {
		t.Errorf("%d operation series, want %d: %v", n, len(ops), c.points["mapx.operations"])
	}
	st := m.Stats()
	for metric, want := range map[string]float64{
		"mapx.entries":                float64(m.Len()),
		"mapx.dirty.entries":          float64(st.DirtyEntries),
		"mapx.read.misses":            float64(st.ReadMisses),
		"mapx.dirty.promotions":       float64(st.Promotions),
		"mapx.iterator.cancellations": 1,
		"mapx.snapshots.active":       1,
		"mapx.snapshot.duration":      1,
	} {
		if got := c.value(t, metric, name); got != want {
			t.Errorf("%s = %v, want %v", metric, got, want)
		}
	}
	if got := c.value(t, "mapx.backpressure.rejections", name+",mapx.reason=capacity"); got != 2 {
		t.Errorf("capacity rejections = %v, want 2", got)
	}
	if got := c.value(t, "mapx.backpressure.rejections", name+",mapx.reason=rate"); got != 0 {
		t.Errorf("rate rejections = %v, want 0", got)
	}
	for outcome, want := range map[string]float64{"complete": 1, "cancelled": 1, "stopped": 1} {
		if got := c.value(t, "mapx.iteration.duration", name+",mapx.outcome="+outcome); got != want {
			t.Errorf("iterations %s = %v, want %v", outcome, got, want)
		}
	}
	wantUnits := map[string]string{
		"mapx.operations": "{operation}", "mapx.entries": "{entry}", "mapx.dirty.entries": "{entry}",
		"mapx.read.misses": "{miss}", "mapx.dirty.promotions": "{promotion}", "mapx.iterator.cancellations": "{cancellation}",
		"mapx.backpressure.rejections": "{rejection}", "mapx.snapshots.active": "{snapshot}", "mapx.snapshot.duration": "s",
		"mapx.iteration.duration": "s",
	}
	for metric, unit := range wantUnits {
		if c.units[metric] != unit {
			t.Errorf("%s: unit %q, want %q", metric, c.units[metric], unit)
		}
	}
	s.Close()
	if got := h.collect(t).value(t, "mapx.snapshots.active", name); got != 0 {
		t.Errorf("active snapshots after Close = %v", got)
	}
}

func TestCountsAreExactUnderConcurrency(t *testing.T) {
	h := newHarness(t)
	w := instrumented.Wrap(mapx.New[int, int](), h.opts("concurrent")...)
	defer w.Close()
	const goroutines, each = 8, 5000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				w.Store(g*each+i, i)
				w.Load(g*each + i)
			}
		})
	}
	wg.Wait()
	c := h.collect(t)
	if got := c.value(t, "mapx.operations", "mapx.name=concurrent,mapx.operation=store"); got != goroutines*each {
		t.Fatalf("stores = %v, want %d", got, goroutines*each)
	}
	if got := c.value(t, "mapx.operations", "mapx.name=concurrent,mapx.operation=load,mapx.result=hit"); got != goroutines*each {
		t.Fatalf("load hits = %v, want %d", got, goroutines*each)
	}
	if got := c.value(t, "mapx.entries", "mapx.name=concurrent"); got != goroutines*each {
		t.Fatalf("entries = %v", got)
	}
}

// TestUnwrappedLoadsAreCounted: the map counts its own loads, so loads made
// on the map Unwrap returns are counted and timed too, and its other
// operations are not; a map wrapped again counts in its new wrapper.
func TestUnwrappedLoadsAreCounted(t *testing.T) {
	h := newHarness(t)
	m := mapx.New[int, int]()
	w := instrumented.Wrap(m, append(h.opts("unwrapped"), instrumented.WithDurationSampling(1))...)
	w.Store(1, 1)
	u := w.Unwrap()
	u.Store(2, 2) // not counted
	u.Load(1)
	u.Load(2)
	u.Load(3)
	w.Load(1)
	c := h.collect(t)
	for attrs, want := range map[string]float64{
		"mapx.name=unwrapped,mapx.operation=load,mapx.result=hit":  3,
		"mapx.name=unwrapped,mapx.operation=load,mapx.result=miss": 1,
		"mapx.name=unwrapped,mapx.operation=store":                 1,
	} {
		if got := c.value(t, "mapx.operations", attrs); got != want {
			t.Errorf("%s = %v, want %v", attrs, got, want)
		}
	}
	if got := c.value(t, "mapx.operation.duration", "mapx.name=unwrapped,mapx.operation=load"); got != 4 {
		t.Errorf("%v loads timed, want 4 (WithDurationSampling(1))", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	u.Load(1) // counted nowhere: the map has no observer
	again := instrumented.Wrap(m, h.opts("unwrapped")...)
	defer again.Close()
	u.Load(1)
	if got := h.collect(t).value(t, "mapx.operations", "mapx.name=unwrapped,mapx.operation=load,mapx.result=hit"); got != 1 {
		t.Errorf("wrapped again: %v load hits, want 1", got)
	}
}

func TestSampledOperationDuration(t *testing.T) {
	h := newHarness(t)
	w := instrumented.Wrap(mapx.New[int, int](), append(h.opts("sampled"), instrumented.WithDurationSampling(1))...)
	defer w.Close()
	for i := range 100 {
		w.Store(i, i)
	}
	// Every count flags the next operation: all but the first are timed.
	if got := h.collect(t).value(t, "mapx.operation.duration", "mapx.name=sampled,mapx.operation=store"); got != 99 {
		t.Fatalf("timed %v stores, want 99", got)
	}
	off := instrumented.Wrap(mapx.New[int, int](), append(h.opts("unsampled"), instrumented.WithDurationSampling(0))...)
	defer off.Close()
	for i := range 5000 {
		off.Store(i, i)
	}
	if _, ok := h.collect(t).points["mapx.operation.duration"]["mapx.name=unsampled,mapx.operation=store"]; ok {
		t.Fatal("sampling off, but operations were timed")
	}
	def := instrumented.Wrap(mapx.New[int, int](), h.opts("default-sampling")...)
	defer def.Close()
	for i := range 4 * instrumented.DefaultDurationSampling {
		def.Load(i)
	}
	got := h.collect(t).points["mapx.operation.duration"]["mapx.name=default-sampling,mapx.operation=load"]
	if got < 2 || got > 4 {
		t.Fatalf("timed %v of %d loads, want about 1 in %d", got, 4*instrumented.DefaultDurationSampling, instrumented.DefaultDurationSampling)
	}
}

func TestSpansForLongOperationsOnly(t *testing.T) {
	h := newHarness(t)
	m := mapx.New[int, int](mapx.WithInsertRate(500, 1))
	w := instrumented.Wrap(m, append(h.opts("traced"), instrumented.WithRootSpans(true))...)
	defer w.Close()
	for i := range 300 {
		w.Store(i, i)
		w.Load(i)
		w.Delete(i + 1000)
	}
	if n := len(h.spans.Ended()); n != 0 {
		t.Fatalf("%d spans for point operations", n)
	}
	_ = w.StoreWait(context.Background(), 9999, 1) // a token is there: no wait
	_ = w.StoreWait(context.Background(), 9998, 1) // waits ~2ms
	s := w.Snapshot()
	defer s.Close()
	s.Range(func(int, int) bool { return true })
	ctx, cancel := context.WithCancel(context.Background())
	_ = w.RangeContext(ctx, func(k, v int) bool { cancel(); return true })
	w.Range(func(int, int) bool { return true })

	var names []string
	for _, sp := range h.spans.Ended() {
		names = append(names, sp.Name())
	}
	want := []string{"mapx.store_wait", "mapx.snapshot", "mapx.snapshot.range", "mapx.range", "mapx.range"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("spans %v, want %v", names, want)
	}
	cancelled := h.spans.Ended()[3]
	attrs := map[attribute.Key]attribute.Value{}
	for _, a := range cancelled.Attributes() {
		attrs[a.Key] = a.Value
	}
	if cancelled.Status().Code != codes.Error || attrs["mapx.outcome"].AsString() != "cancelled" || attrs["mapx.name"].AsString() != "traced" || len(cancelled.Events()) != 1 {
		t.Fatalf("cancelled iteration span: status %v, attributes %v, events %v", cancelled.Status(), attrs, cancelled.Events())
	}
	complete := h.spans.Ended()[2]
	for _, a := range complete.Attributes() {
		if a.Key == "mapx.visited" && a.Value.AsInt64() != 302 {
			t.Fatalf("snapshot iteration visited %d, want 302", a.Value.AsInt64())
		}
	}
}

func TestSyncMapEntriesAreExact(t *testing.T) {
	h := newHarness(t)
	var sm sync.Map
	w := instrumented.WrapSyncMap(&sm, h.opts("legacy")...)
	defer w.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				k := i % 300
				switch (g + i) % 6 {
				case 0:
					w.Store(k, i)
				case 1:
					w.LoadOrStore(k, i)
				case 2:
					w.Delete(k)
				case 3:
					w.Swap(k, i)
				case 4:
					w.LoadAndDelete(k)
				case 5:
					if v, ok := w.Load(k); ok {
						w.CompareAndDelete(k, v)
					}
				}
			}
		})
	}
	wg.Wait()
	n := 0
	sm.Range(func(any, any) bool { n++; return true })
	c := h.collect(t)
	if got := c.value(t, "mapx.entries", "mapx.name=legacy"); got != float64(n) {
		t.Fatalf("entries = %v, sync.Map holds %d", got, n)
	}
	if _, ok := c.points["mapx.dirty.entries"]; ok {
		t.Fatal("a sync.Map has no dirty map to export")
	}
	w.Clear()
	if got := h.collect(t).value(t, "mapx.entries", "mapx.name=legacy"); got != 0 {
		t.Fatalf("entries after Clear = %v", got)
	}
}

func TestDecoratorAddsNoAllocations(t *testing.T) {
	h := newHarness(t)
	bare := mapx.New[int, int]()
	w := instrumented.Wrap(mapx.New[int, int](), append(h.opts("allocs"), instrumented.WithDurationSampling(0))...)
	defer w.Close()
	for i := range 1000 {
		bare.Store(i, i)
		w.Store(i, i)
		bare.Load(i)
		w.Load(i)
	}
	i := 0
	if a := testing.AllocsPerRun(1000, func() { w.Load(i % 1000); i++ }); a != 0 {
		t.Errorf("Load: %v allocs/op", a)
	}
	bareStore := testing.AllocsPerRun(1000, func() { bare.Store(i%1000, i); i++ })
	if a := testing.AllocsPerRun(1000, func() { w.Store(i%1000, i); i++ }); a != bareStore {
		t.Errorf("Store of an existing key: %v allocs/op, bare map %v", a, bareStore)
	}
}

func TestInvalidOptionsPanic(t *testing.T) {
	for name, f := range map[string]func(){
		"WithName":             func() { instrumented.WithName("") },
		"WithDurationSampling": func() { instrumented.WithDurationSampling(1000) },
		"WithAttributes":       func() { instrumented.WithAttributes(attribute.String("mapx.name", "x")) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !contains(fmt.Sprint(r), name) {
					t.Errorf("%s: recovered %v", name, r)
				}
			}()
			f()
		}()
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// globalInstalled: OpenTelemetry's global provider delegates to the first
// SDK installed in a process only.
var globalInstalled atomic.Bool

func TestGlobalProviderCountsFromFirstCollection(t *testing.T) {
	if globalInstalled.Swap(true) {
		t.Skip("the global MeterProvider can be installed once per process (go test -count > 1)")
	}
	w := instrumented.Wrap(mapx.New[int, int](), instrumented.WithName("global"))
	defer w.Close()
	for i := range 100 {
		w.Store(i, i) // nothing can collect yet: not counted
	}
	h := newHarness(t)
	otel.SetMeterProvider(h.mp) // the global provider now delegates to the SDK
	c := h.collect(t)
	if got := c.value(t, "mapx.entries", "mapx.name=global"); got != 100 {
		t.Fatalf("entries = %v: the core's numbers count from the start", got)
	}
	if _, ok := c.points["mapx.operations"]["mapx.name=global,mapx.operation=store"]; ok {
		t.Fatal("operations before the first collection were counted")
	}
	for i := range 7 {
		w.Store(i, i)
	}
	if got := h.collect(t).value(t, "mapx.operations", "mapx.name=global,mapx.operation=store"); got != 7 {
		t.Fatalf("stores after the first collection = %v, want 7", got)
	}
}

// TestSameMethodsAsTheCore: the decorator is a drop-in replacement.
func TestSameMethodsAsTheCore(t *testing.T) {
	core := reflect.TypeFor[*mapx.Map[string, int]]()
	wrapped := reflect.TypeFor[*instrumented.Map[string, int]]()
	for i := range core.NumMethod() {
		m := core.Method(i)
		if m.Name == "SetObserver" {
			continue
		}
		w, ok := wrapped.MethodByName(m.Name)
		if !ok {
			t.Errorf("instrumented.Map has no %s", m.Name)
			continue
		}
		if m.Type.String() != strings.Replace(w.Type.String(), "*instrumented.Map", "*mapx.Map", 1) {
			t.Errorf("%s: %s, the core has %s", m.Name, w.Type, m.Type)
		}
	}
}
