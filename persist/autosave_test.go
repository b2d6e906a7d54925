package persist_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/persist"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"
)

// telemetry collects what an Autosaver exports.
type telemetry struct {
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	opts   []persist.AutosaveOption
}

func newTelemetry() *telemetry {
	tel := &telemetry{reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	tel.opts = []persist.AutosaveOption{
		persist.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(tel.reader))),
		persist.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tel.spans))),
	}
	return tel
}

// metric returns the data of the named metric, checking its unit.
func (tel *telemetry) metric(t *testing.T, name, unit string) metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := tel.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != persist.ScopeName {
			t.Fatalf("metrics of scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			if m.Name == name {
				if m.Unit != unit {
					t.Fatalf("%s has unit %q, want %q", name, m.Unit, unit)
				}
				return m.Data
			}
		}
	}
	return nil
}

func attr(set attribute.Set, key string) string {
	v, _ := set.Value(attribute.Key(key))
	return v.String()
}

// checkSeries checks the attributes common to every series.
func checkSeries(t *testing.T, set attribute.Set, name, store string) {
	t.Helper()
	if attr(set, "mapx.name") != name || attr(set, "mapx.store") != store {
		t.Fatalf("series %v, want mapx.name %s and mapx.store %s", set.ToSlice(), name, store)
	}
}

func spanAttrs(s sdktrace.ReadOnlySpan) attribute.Set { return attribute.NewSet(s.Attributes()...) }

func TestAutosave(t *testing.T) {
	before := goleak.IgnoreCurrent()
	ctx := context.Background()
	store, err := persist.NewFileStore(t.TempDir(), persist.WithKeep(100))
	if err != nil {
		t.Fatal(err)
	}
	tel := newTelemetry()
	m := tagged(1, 100)
	a := persist.StartAutosave(m, store, "auto", 5*time.Millisecond, tel.opts...)
	for deadline := time.Now().Add(time.Minute); len(generations(t, store, "auto")) < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no two periodic saves within a minute")
		}
	}
	m.Store("manual", 1)
	g, err := a.SaveNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.Store("late", 2) // only the save on Close has it
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	noGoroutinesLeft(t, before)
	if err := a.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := a.SaveNow(ctx); !errors.Is(err, persist.ErrClosed) {
		t.Fatalf("SaveNow after Close: %v", err)
	}

	loaded := mapx.New[string, int]()
	res, err := store.Load(ctx, "auto", loaded)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := loaded.Load("late"); !ok || v != 2 || res.Generation.Number <= g.Number {
		t.Fatalf("the save on Close is not the newest generation (%d after %d)", res.Generation.Number, g.Number)
	}

	// One span per save, in order, the last one on shutdown.
	spans := tel.spans.Ended()
	gens := generations(t, store, "auto")
	if len(spans) != len(gens) {
		t.Fatalf("%d spans for %d saves", len(spans), len(gens))
	}
	var bytes int64
	for i, s := range spans {
		set := spanAttrs(s)
		checkSeries(t, set, "auto", "file")
		trigger := "interval"
		switch {
		case i == len(spans)-1:
			trigger = "shutdown"
		case gens[len(gens)-1-i] == g.Number:
			trigger = "manual"
		}
		number, _ := set.Value("mapx.generation")
		size, _ := set.Value("mapx.bytes")
		if s.Name() != "mapx.persist.save" || attr(set, "mapx.trigger") != trigger || s.Status().Code == codes.Error ||
			uint64(number.AsInt64()) != gens[len(gens)-1-i] || size.AsInt64() <= 0 {
			t.Fatalf("span %d: %s %v %v, want mapx.persist.save of generation %d, trigger %s", i, s.Name(), set.ToSlice(), s.Status(), gens[len(gens)-1-i], trigger)
		}
		bytes += size.AsInt64()
	}

	dur, ok := tel.metric(t, "mapx.persist.duration", "s").(metricdata.Histogram[float64])
	if !ok || len(dur.DataPoints) != 1 || dur.DataPoints[0].Count != uint64(len(spans)) {
		t.Fatalf("mapx.persist.duration: %+v, want one series of %d saves", dur, len(spans))
	}
	checkSeries(t, dur.DataPoints[0].Attributes, "auto", "file")
	if r := attr(dur.DataPoints[0].Attributes, "mapx.result"); r != "ok" || dur.DataPoints[0].Sum <= 0 {
		t.Fatalf("mapx.persist.duration: result %s, sum %v", r, dur.DataPoints[0].Sum)
	}
	size, ok := tel.metric(t, "mapx.persist.size", "By").(metricdata.Histogram[int64])
	if !ok || len(size.DataPoints) != 1 || size.DataPoints[0].Count != uint64(len(spans)) || size.DataPoints[0].Sum != bytes {
		t.Fatalf("mapx.persist.size: %+v, want %d saves of %d bytes in all", size, len(spans), bytes)
	}
	checkSeries(t, size.DataPoints[0].Attributes, "auto", "file")
	if errs := tel.metric(t, "mapx.persist.errors", "{error}"); errs != nil {
		if sum := errs.(metricdata.Sum[int64]); len(sum.DataPoints) != 0 {
			t.Fatalf("mapx.persist.errors: %+v, want none", sum)
		}
	}
}

// brokenStore fails every save, and counts them.
type brokenStore struct {
	mu    sync.Mutex
	saves int
}

var errBroken = errors.New("store broken")

func (b *brokenStore) Save(context.Context, string, io.WriterTo) (persist.Generation, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.saves++
	return persist.Generation{}, errBroken
}

func (b *brokenStore) Load(context.Context, string, io.ReaderFrom) (persist.Loaded, error) {
	return persist.Loaded{}, errBroken
}

func (b *brokenStore) List(context.Context, string) ([]persist.Generation, error) {
	return nil, errBroken
}

func TestAutosaveErrors(t *testing.T) {
	before := goleak.IgnoreCurrent()
	tel := newTelemetry()
	store := &brokenStore{}
	var handled atomic.Int64
	first := make(chan error, 2)
	a := persist.StartAutosave(tagged(1, 10), store, "broken", time.Millisecond,
		append(tel.opts, persist.WithErrorHandler(func(err error) {
			handled.Add(1)
			select {
			case first <- err:
			default:
			}
		}))...)
	for range 2 {
		select {
		case err := <-first:
			if !errors.Is(err, errBroken) {
				t.Fatalf("handled %v", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("no error handled within a minute")
		}
	}
	if err := a.Close(context.Background()); !errors.Is(err, errBroken) {
		t.Fatalf("Close returned %v, want the error of the last save", err)
	}
	noGoroutinesLeft(t, before)

	store.mu.Lock()
	saves := store.saves
	store.mu.Unlock()
	if got := int(handled.Load()) + 1; got != saves { // the periodic ones, and the one on Close
		t.Fatalf("%d errors reported for %d failed saves", got, saves)
	}
	errs, ok := tel.metric(t, "mapx.persist.errors", "{error}").(metricdata.Sum[int64])
	if !ok || len(errs.DataPoints) != 1 || errs.DataPoints[0].Value != int64(saves) || !errs.IsMonotonic {
		t.Fatalf("mapx.persist.errors: %+v, want a counter of %d", errs, saves)
	}
	checkSeries(t, errs.DataPoints[0].Attributes, "broken", "*persist_test.brokenStore")
	dur := tel.metric(t, "mapx.persist.duration", "s").(metricdata.Histogram[float64])
	if len(dur.DataPoints) != 1 || attr(dur.DataPoints[0].Attributes, "mapx.result") != "failed" || dur.DataPoints[0].Count != uint64(saves) {
		t.Fatalf("mapx.persist.duration: %+v, want %d failed saves", dur, saves)
	}
	if size := tel.metric(t, "mapx.persist.size", "By"); size != nil && len(size.(metricdata.Histogram[int64]).DataPoints) != 0 {
		t.Fatalf("mapx.persist.size recorded failed saves: %+v", size)
	}
	for _, s := range tel.spans.Ended() {
		if s.Status().Code != codes.Error || s.Status().Description != errBroken.Error() || len(s.Events()) == 0 {
			t.Fatalf("span of a failed save: status %v, events %v", s.Status(), s.Events())
		}
	}
}

// slowStore's saves last until their context is done.
type slowStore struct {
	brokenStore
	started chan struct{}
}

func (s *slowStore) Save(ctx context.Context, _ string, _ io.WriterTo) (persist.Generation, error) {
	select {
	case s.started <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return persist.Generation{}, ctx.Err()
}

// Close cancels a save in progress once its context is done, and returns.
func TestAutosaveCloseCancelsSlowSave(t *testing.T) {
	before := goleak.IgnoreCurrent()
	store := &slowStore{started: make(chan struct{}, 1)}
	a := persist.StartAutosave(tagged(1, 10), store, "slow", time.Millisecond, persist.WithErrorHandler(func(error) {}))
	<-store.started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := a.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close returned %v, want the deadline it was given", err)
	}
	noGoroutinesLeft(t, before)
}
