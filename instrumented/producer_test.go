package instrumented_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mapx-dev/mapx"
	"github.com/mapx-dev/mapx/instrumented"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// withProducer is a harness whose reader has a Producer made with opts.
func withProducer(t *testing.T, opts ...instrumented.ProducerOption) (*harness, *instrumented.Producer) {
	p := instrumented.NewProducer(opts...)
	t.Cleanup(func() { _ = p.Close() })
	h := &harness{reader: sdkmetric.NewManualReader(sdkmetric.WithProducer(p)), spans: tracetest.NewSpanRecorder()}
	h.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	h.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(h.spans))
	t.Cleanup(func() {
		_ = h.mp.Shutdown(context.Background())
		_ = h.tp.Shutdown(context.Background())
	})
	return h, p
}

// seriesOf returns the metrics that have a series whose attributes contain
// attr.
func seriesOf(c collected, attr string) []string {
	var names []string
	for name, pts := range c.points {
		for a := range pts {
			if strings.Contains(a, attr) {
				names = append(names, name)
				break
			}
		}
	}
	slices.Sort(names)
	return names
}

// TestProducerDropsClosedMapsSeries: with a Producer, a closed map's series
// of every metric, histograms included, are collected once more and then
// gone.
func TestProducerDropsClosedMapsSeries(t *testing.T) {
	durations := []string{"mapx.iteration.duration", "mapx.operation.duration"}
	for _, tc := range []struct {
		name      string
		wrap      func(*harness) (use func(), close func() error)
		durations []string
	}{
		{"Map", func(h *harness) (func(), func() error) {
			w := instrumented.Wrap(mapx.New[int, int](), append(h.opts("closing"), instrumented.WithDurationSampling(1))...)
			return func() {
				for i := range 10 {
					w.Store(i, i)
					w.Load(i)
				}
				w.Range(func(int, int) bool { return true })
				w.Snapshot().Close()
			}, w.Close
		}, append(slices.Clone(durations), "mapx.snapshot.duration")},
		{"SyncMap", func(h *harness) (func(), func() error) {
			w := instrumented.WrapSyncMap(&sync.Map{}, append(h.opts("closing"), instrumented.WithDurationSampling(1))...)
			return func() {
				for i := range 10 {
					w.Store(i, i)
					w.Load(i)
				}
				w.Range(func(any, any) bool { return true })
			}, w.Close
		}, durations},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := withProducer(t)
			use, closeMap := tc.wrap(h)
			use()
			for _, name := range tc.durations {
				if got := seriesOf(h.collect(t), "mapx.name=closing"); !slices.Contains(got, name) {
					t.Fatalf("%s missing before Close; have %v", name, got)
				}
			}
			use()
			if err := closeMap(); err != nil {
				t.Fatal(err)
			}
			c := h.collect(t)
			for _, name := range tc.durations {
				if !slices.Contains(seriesOf(c, "mapx.name=closing"), name) {
					t.Fatalf("%s missing from the last collection after Close", name)
				}
			}
			if got := c.value(t, "mapx.operation.duration", "mapx.name=closing,mapx.operation=store"); got != 19 {
				t.Errorf("timed stores in the last collection = %v, want 19 (all but the first of 20)", got)
			}
			for range 2 {
				if got := seriesOf(h.collect(t), "mapx.name=closing"); len(got) != 0 {
					t.Fatalf("series of the closed map: %v", got)
				}
			}
		})
	}
}

// TestProducerDeltaKeepsTheLastInterval: with delta temporality, what a map
// recorded between the last collection and its Close is in the next one.
func TestProducerDeltaKeepsTheLastInterval(t *testing.T) {
	h, _ := withProducer(t, instrumented.ProducerTemporality(metricdata.DeltaTemporality))
	w := instrumented.Wrap(mapx.New[int, int](), append(h.opts("delta"), instrumented.WithDurationSampling(1))...)
	for i := range 11 {
		w.Store(i, i)
	}
	if got := count(t, h, "mapx.operation.duration"); got != 10 {
		t.Fatalf("timed stores = %d, want 10", got)
	}
	for i := range 5 {
		w.Store(i, i)
	}
	_ = w.Close()
	if got := count(t, h, "mapx.operation.duration"); got != 5 {
		t.Fatalf("timed stores after Close = %d, want the last 5", got)
	}
	if got := count(t, h, "mapx.operation.duration"); got != 0 {
		t.Fatalf("timed stores a collection later = %d, want none", got)
	}
}

// count returns the number of measurements in the histogram name, of either
// kind, with its temporality checked.
func count(t *testing.T, h *harness, name string) uint64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					n += p.Count
				}
			case metricdata.ExponentialHistogram[float64]:
				for _, p := range d.DataPoints {
					n += p.Count
				}
			}
		}
	}
	return n
}

// TestProducerTakesTheDurations: while a Producer is open the
// MeterProvider's own histograms get nothing, so that no duration is
// exported twice; once it is closed, they get them again.
func TestProducerTakesTheDurations(t *testing.T) {
	plain := newHarness(t)
	_, p := withProducer(t)
	own := sdkmetric.NewManualReader(sdkmetric.WithProducer(p))
	both := sdkmetric.NewMeterProvider(sdkmetric.WithReader(own))
	defer both.Shutdown(context.Background())
	w := instrumented.Wrap(mapx.New[int, int](), append(plain.opts("routed"), instrumented.WithDurationSampling(1))...)
	defer w.Close()
	for i := range 11 {
		w.Store(i, i)
	}
	if got := count(t, plain, "mapx.operation.duration"); got != 0 {
		t.Fatalf("the MeterProvider's histogram has %d durations while a Producer is open", got)
	}
	if got := count(t, &harness{reader: own}, "mapx.operation.duration"); got != 10 {
		t.Fatalf("the Producer has %d durations, want 10", got)
	}
	_ = p.Close()
	if got := count(t, &harness{reader: own}, "mapx.operation.duration"); got != 0 {
		t.Fatalf("a closed Producer still produces %d durations", got)
	}
	w.Store(1, 1)
	if got := count(t, plain, "mapx.operation.duration"); got != 1 {
		t.Fatalf("the MeterProvider's histogram has %d durations after the Producer closed, want 1", got)
	}
}

// TestProducerAggregation: by default the Producer's buckets are those of
// HistogramBuckets; ProducerAggregation makes them exponential.
func TestProducerAggregation(t *testing.T) {
	h, _ := withProducer(t)
	w := instrumented.Wrap(mapx.New[int, int](), append(h.opts("buckets"), instrumented.WithDurationSampling(1))...)
	defer w.Close()
	w.Store(1, 1)
	w.Store(2, 2)
	d := histogram(t, h, "mapx.operation.duration")
	hist, ok := d.(metricdata.Histogram[float64])
	if !ok || len(hist.DataPoints) != 1 || hist.Temporality != metricdata.CumulativeTemporality {
		t.Fatalf("default: %#v", d)
	}
	if got, want := hist.DataPoints[0].Bounds, instrumented.HistogramBuckets("mapx.operation.duration"); !slices.Equal(got, want) {
		t.Fatalf("bounds %v, want %v", got, want)
	}

	e, _ := withProducer(t, instrumented.ProducerAggregation(sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 160, MaxScale: 20}))
	w.Store(3, 3)
	if d := histogram(t, e, "mapx.operation.duration"); d == nil {
		t.Fatal("no exponential histogram")
	} else if _, ok := d.(metricdata.ExponentialHistogram[float64]); !ok {
		t.Fatalf("exponential: %T", d)
	}
}

func histogram(t *testing.T, h *harness, name string) metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := h.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == name {
				if sm.Scope.Name != instrumented.ScopeName || sm.Scope.Version != instrumented.Version {
					t.Fatalf("scope %+v", sm.Scope)
				}
				return m.Data
			}
		}
	}
	return nil
}

// TestProducerOneSeriesPerName: maps of one name on two MeterProviders make
// one series in the Producer, which reports the whole process, and maps of
// two names two.
func TestProducerOneSeriesPerName(t *testing.T) {
	h, _ := withProducer(t)
	other := newHarness(t)
	for _, o := range [][]instrumented.Option{h.opts("same"), other.opts("same"), h.opts("else")} {
		w := instrumented.Wrap(mapx.New[int, int](), append(o, instrumented.WithDurationSampling(1))...)
		defer w.Close()
		w.Store(1, 1)
		w.Store(2, 2)
	}
	c := h.collect(t)
	if got := c.value(t, "mapx.operation.duration", "mapx.name=same,mapx.operation=store"); got != 2 {
		t.Errorf("same: %v timed stores, want 2 (1 per map)", got)
	}
	if got := len(c.points["mapx.operation.duration"]); got != 2 {
		t.Errorf("%d series, want 2: %v", got, c.points["mapx.operation.duration"])
	}
}

// TestProducerConcurrency: Produce runs, twice at a time, while maps are
// wrapped, used and closed, and while Producers open and close (run with
// -race).
func TestProducerConcurrency(t *testing.T) {
	h, _ := withProducer(t, instrumented.ProducerTemporality(metricdata.DeltaTemporality))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := []string{"a", "b", "c"}[(g+i)%3]
				w := instrumented.Wrap(mapx.New[int, int](), append(h.opts(name), instrumented.WithDurationSampling(1))...)
				w.Store(i, i)
				w.Load(i)
				w.Range(func(int, int) bool { return true })
				_ = w.Close()
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = instrumented.NewProducer().Close()
		}
	})
	wg.Go(func() { // a second collector: scrapes may overlap
		for {
			select {
			case <-stop:
				return
			default:
			}
			var rm metricdata.ResourceMetrics
			if err := h.reader.Collect(context.Background(), &rm); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var timed uint64
	for i := 0; i < 50 || timed == 0; i++ {
		timed += count(t, h, "mapx.operation.duration")
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	timed += count(t, h, "mapx.operation.duration")
	if timed == 0 {
		t.Fatal("no durations")
	}
	if got := count(t, h, "mapx.operation.duration"); got != 0 {
		t.Fatalf("%d durations after every map closed", got)
	}
}

func TestProducerOptionsPanic(t *testing.T) {
	for name, f := range map[string]func(){
		"nil option":  func() { instrumented.NewProducer(nil) },
		"aggregation": func() { instrumented.ProducerAggregation(sdkmetric.AggregationSum{}) },
		"nil":         func() { instrumented.ProducerAggregation(nil) },
		"boundaries": func() {
			instrumented.ProducerAggregation(sdkmetric.AggregationExplicitBucketHistogram{Boundaries: []float64{2, 1}})
		},
		"exponential": func() {
			instrumented.ProducerAggregation(sdkmetric.AggregationBase2ExponentialHistogram{MaxSize: 0, MaxScale: 20})
		},
		"temporality":  func() { instrumented.ProducerTemporality(metricdata.Temporality(0)) },
		"temporality9": func() { instrumented.ProducerTemporality(metricdata.Temporality(9)) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.HasPrefix(msg, "instrumented: ") || !strings.Contains(msg, "Producer") {
					t.Fatalf("panic %q, want one naming the option", msg)
				}
			}()
			f()
		})
	}
}

// TestProducerAddsNoAllocation: a timed operation allocates no more with a
// Producer open than without.
func TestProducerAddsNoAllocation(t *testing.T) {
	measure := func(h *harness) float64 {
		w := instrumented.Wrap(mapx.New[int, int](), append(h.opts("allocs"), instrumented.WithDurationSampling(1))...)
		defer w.Close()
		w.Store(1, 1)
		w.Store(1, 1) // the first duration makes the Producer's histograms
		return testing.AllocsPerRun(1000, func() { w.Load(1) })
	}
	plain := measure(newHarness(t))
	h, _ := withProducer(t)
	if with := measure(h); with > plain {
		t.Fatalf("a timed Load allocates %v times with a Producer, %v without", with, plain)
	}
}
