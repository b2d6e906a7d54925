package instrumented

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
)

// A Producer serves the duration histograms (mapx.operation.duration,
// mapx.snapshot.duration, mapx.iteration.duration) of every wrapped map in
// the process to the reader it is added to, as the contrib runtime package's
// Producer serves the runtime's metrics:
//
//	reader := sdkmetric.NewPeriodicReader(exp, sdkmetric.WithProducer(instrumented.NewProducer()))
//
// Unlike the MeterProvider's synchronous histograms, it drops a map's series
// once the map's last wrapper is closed and the reader has collected them one
// last time. While a Producer is open, durations go to the open Producers
// only, not to the maps' MeterProviders. Give each reader its own Producer:
// with delta temporality, two readers would split the data. Its methods are
// safe for concurrent use.
type Producer struct {
	aggregation sdkmetric.Aggregation // nil: the instruments' advised buckets
	temporality metricdata.Temporality
	closed      atomic.Bool
}

// A ProducerOption configures [NewProducer]. Options are sealed, as [Option]
// is.
type ProducerOption interface {
	applyProducer(*Producer)
}

type producerOptionFunc func(*Producer)

func (f producerOptionFunc) applyProducer(p *Producer) { f(p) }

// ProducerAggregation sets the aggregation of the histograms: an
// [sdkmetric.AggregationExplicitBucketHistogram], an
// [sdkmetric.AggregationBase2ExponentialHistogram], [sdkmetric.AggregationDrop]
// or [sdkmetric.AggregationDefault]. The default is explicit buckets at the
// boundaries of [HistogramBuckets].
func ProducerAggregation(a sdkmetric.Aggregation) ProducerOption {
	if err := checkAggregation(a); err != nil {
		panic(fmt.Sprintf("instrumented: ProducerAggregation(%#v): %v", a, err))
	}
	return producerOptionFunc(func(p *Producer) { p.aggregation = a })
}

// ProducerTemporality sets the temporality of the histograms, cumulative (the
// default) or delta: pass the exporter's, as
// exp.Temporality(sdkmetric.InstrumentKindHistogram).
func ProducerTemporality(t metricdata.Temporality) ProducerOption {
	if t != metricdata.CumulativeTemporality && t != metricdata.DeltaTemporality {
		panic(fmt.Sprintf("instrumented: ProducerTemporality(%v): want cumulative or delta", t))
	}
	return producerOptionFunc(func(p *Producer) { p.temporality = t })
}

func checkAggregation(a sdkmetric.Aggregation) error {
	switch a := a.(type) {
	case sdkmetric.AggregationDefault, sdkmetric.AggregationDrop:
		return nil
	case sdkmetric.AggregationExplicitBucketHistogram:
		for i, b := range a.Boundaries {
			if math.IsNaN(b) || math.IsInf(b, 0) || i > 0 && b <= a.Boundaries[i-1] {
				return errors.New("boundaries must be finite and increasing")
			}
		}
		return nil
	case sdkmetric.AggregationBase2ExponentialHistogram:
		if a.MaxSize <= 0 || a.MaxScale < -10 || a.MaxScale > 20 {
			return errors.New("MaxSize must be positive and MaxScale within [-10, 20]")
		}
		return nil
	}
	return errors.New("not a histogram aggregation")
}

// NewProducer returns an open Producer; [Producer.Close] closes it.
func NewProducer(opts ...ProducerOption) *Producer {
	p := &Producer{temporality: metricdata.CumulativeTemporality}
	for _, o := range opts {
		if o == nil {
			panic("instrumented: nil ProducerOption")
		}
		o.applyProducer(p)
	}
	openProducers.Lock()
	defer openProducers.Unlock()
	list := append(slices.Clone(*openProducers.list.Load()), p)
	openProducers.list.Store(&list)
	return p
}

// openProducers is the open Producers, an immutable slice replaced under the
// mutex, so that a sampled duration finds them in one atomic load.
var openProducers struct {
	sync.Mutex
	list atomic.Pointer[[]*Producer]
}

func init() { openProducers.list.Store(new([]*Producer)) }

// Close stops the Producer: its next Produce returns nothing, and durations
// go to the MeterProviders again once no Producer is open. Close it after
// the reader's last collection (after MeterProvider.Shutdown); one never
// closed serves until the process exits, as a process-long reader's should.
// It is safe to call more than once.
func (p *Producer) Close() error {
	if !p.closed.CompareAndSwap(false, true) {
		return nil
	}
	openProducers.Lock()
	list := slices.DeleteFunc(slices.Clone(*openProducers.list.Load()), func(q *Producer) bool { return q == p })
	openProducers.list.Store(&list)
	openProducers.Unlock()
	var errs []error
	for _, s := range liveSeries() {
		s.mu.Lock()
		h := s.drop(p)
		s.mu.Unlock()
		if h != nil {
			errs = append(errs, h.mp.Shutdown(context.Background()))
		}
		s.forgetIfDone()
	}
	return errors.Join(errs...)
}

// Produce returns the durations of every wrapped map since the last call
// (delta temporality) or since the map's series began (cumulative), one
// metric per histogram in one scope, [ScopeName]. A series whose maps are
// all closed is in the first Produce after the last Close, and in no later
// one.
func (p *Producer) Produce(ctx context.Context) ([]metricdata.ScopeMetrics, error) {
	if p.closed.Load() {
		return nil, nil
	}
	type collect struct {
		h    *privateHistograms
		last bool
	}
	var todo []collect
	for _, s := range liveSeries() {
		s.mu.Lock()
		h, last := s.find(p), s.refs == 0
		if h != nil {
			if last {
				s.drop(p)
			}
			todo = append(todo, collect{h, last})
		}
		s.mu.Unlock()
		if last {
			s.forgetIfDone()
		}
	}
	var out [numMetrics]metricdata.Metrics
	var errs []error
	for _, c := range todo {
		var rm metricdata.ResourceMetrics // the reader reuses what it is given
		// A concurrent Produce may have collected the series for the
		// last time and shut it down.
		if err := c.h.reader.Collect(ctx, &rm); err != nil && !errors.Is(err, sdkmetric.ErrReaderShutdown) {
			errs = append(errs, err)
		}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				mergeMetrics(&out, m)
			}
		}
		if c.last {
			errs = append(errs, c.h.mp.Shutdown(ctx))
		}
	}
	sm := metricdata.ScopeMetrics{Scope: instrumentation.Scope{Name: ScopeName, Version: Version}}
	for _, m := range out {
		if m.Name != "" {
			sm.Metrics = append(sm.Metrics, m)
		}
	}
	if err := errors.Join(errs...); err != nil {
		err = fmt.Errorf("instrumented: Producer: %w", err)
		if len(sm.Metrics) == 0 {
			return nil, err
		}
		return []metricdata.ScopeMetrics{sm}, err
	}
	if len(sm.Metrics) == 0 {
		return nil, nil
	}
	return []metricdata.ScopeMetrics{sm}, nil
}

// mergeMetrics appends m's data points to those of its histogram in out.
func mergeMetrics(out *[numMetrics]metricdata.Metrics, m metricdata.Metrics) {
	i := slices.IndexFunc(metricTable[:], func(r Metric) bool { return r.Name == m.Name })
	if i < 0 {
		return
	}
	o := &out[i]
	if o.Name == "" {
		*o = m
		return
	}
	switch d := m.Data.(type) {
	case metricdata.Histogram[float64]:
		if od, ok := o.Data.(metricdata.Histogram[float64]); ok {
			od.DataPoints = append(od.DataPoints, d.DataPoints...)
			o.Data = od
		}
	case metricdata.ExponentialHistogram[float64]:
		if od, ok := o.Data.(metricdata.ExponentialHistogram[float64]); ok {
			od.DataPoints = append(od.DataPoints, d.DataPoints...)
			o.Data = od
		}
	}
}

// seriesKey is a series identity without its MeterProvider: a Producer
// serves the maps of every MeterProvider, so groups of one name and
// attribute set on two MeterProviders must make one series.
type seriesKey struct {
	name  string
	attrs attribute.Distinct
}

// durationSeries is the duration histograms of one seriesKey: for each open
// Producer that it recorded for, a private MeterProvider holding them.
type durationSeries struct {
	key seriesKey

	mu    sync.Mutex
	refs  int                                  // live groups
	hists atomic.Pointer[[]*privateHistograms] // immutable; replaced under mu
}

// privateHistograms is one Producer's histograms of one series, in a
// MeterProvider of their own that its reader alone collects, so that they
// can be dropped.
type privateHistograms struct {
	p      *Producer
	mp     *sdkmetric.MeterProvider
	reader *sdkmetric.ManualReader
	inst   [numMetrics]metric.Float64Histogram
}

var allSeries = struct {
	sync.Mutex
	m map[seriesKey]*durationSeries
}{m: map[seriesKey]*durationSeries{}}

// acquireSeries returns the series of key for one more live group.
func acquireSeries(key seriesKey) *durationSeries {
	allSeries.Lock()
	defer allSeries.Unlock()
	s := allSeries.m[key]
	if s == nil {
		s = &durationSeries{key: key}
		allSeries.m[key] = s
	}
	s.mu.Lock()
	s.refs++
	s.mu.Unlock()
	return s
}

// release is a live group's leaving: the last one leaves the histograms to
// one more collection by each Producer.
func (s *durationSeries) release() {
	s.mu.Lock()
	s.refs--
	s.mu.Unlock()
	s.forgetIfDone()
}

// forgetIfDone removes s from the series once no group and no Producer
// holds it.
func (s *durationSeries) forgetIfDone() {
	allSeries.Lock()
	defer allSeries.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs == 0 && len(s.list()) == 0 && allSeries.m[s.key] == s {
		delete(allSeries.m, s.key)
	}
}

func liveSeries() []*durationSeries {
	allSeries.Lock()
	defer allSeries.Unlock()
	out := make([]*durationSeries, 0, len(allSeries.m))
	for _, s := range allSeries.m {
		out = append(out, s)
	}
	return out
}

func (s *durationSeries) list() []*privateHistograms {
	if l := s.hists.Load(); l != nil {
		return *l
	}
	return nil
}

func (s *durationSeries) find(p *Producer) *privateHistograms {
	for _, h := range s.list() {
		if h.p == p {
			return h
		}
	}
	return nil
}

// drop removes p's histograms, under s.mu, and returns them.
func (s *durationSeries) drop(p *Producer) *privateHistograms {
	h := s.find(p)
	if h != nil {
		l := slices.DeleteFunc(slices.Clone(s.list()), func(x *privateHistograms) bool { return x == h })
		s.hists.Store(&l)
	}
	return h
}

// record records v into the histogram i of every open Producer in ps.
func (s *durationSeries) record(ctx context.Context, ps []*Producer, i int, v float64, opt metric.RecordOption) {
	for _, p := range ps {
		h := s.find(p)
		if h == nil {
			if h = s.histogramsFor(p); h == nil {
				continue
			}
		}
		h.inst[i].Record(ctx, v, opt)
	}
}

// histogramsFor makes p's histograms of s on first use: a map that never
// records for a Producer costs it nothing.
func (s *durationSeries) histogramsFor(p *Producer) *privateHistograms {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := s.find(p); h != nil || s.refs == 0 || p.closed.Load() {
		return h
	}
	h := &privateHistograms{p: p}
	h.reader = sdkmetric.NewManualReader(
		sdkmetric.WithAggregationSelector(p.selectAggregation),
		sdkmetric.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality { return p.temporality }))
	h.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader), sdkmetric.WithResource(resource.Empty()))
	meter := h.mp.Meter(ScopeName, metric.WithInstrumentationVersion(Version))
	for _, i := range []int{mOperationDuration, mSnapshotDuration, mIterationDuration} {
		m := metricTable[i]
		h.inst[i], _ = meter.Float64Histogram(m.Name, metric.WithUnit(m.Unit), metric.WithDescription(m.Description),
			metric.WithExplicitBucketBoundaries(histogramBuckets[i]...)) // valid: the same as the MeterProviders'
	}
	l := append(slices.Clone(s.list()), h)
	s.hists.Store(&l)
	return h
}

func (p *Producer) selectAggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	if p.aggregation != nil && k == sdkmetric.InstrumentKindHistogram {
		return p.aggregation
	}
	return sdkmetric.DefaultAggregationSelector(k)
}

// recordDuration records a duration, in seconds, into the histogram i of
// g's series: into every open Producer's or, with none open, into the
// MeterProvider's, whose series outlive the map.
func (g *group) recordDuration(ctx context.Context, i int, seconds float64, set attribute.Set) {
	opt := metric.WithAttributeSet(set)
	if ps := *openProducers.list.Load(); len(ps) > 0 {
		g.series.record(ctx, ps, i, seconds, opt)
		return
	}
	g.histograms[i].Record(ctx, seconds, opt)
}
